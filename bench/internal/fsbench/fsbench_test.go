package fsbench_test

import (
	"flag"
	"testing"
	"time"

	"github.com/zkfence/zkfence/bench/internal/fsbench"
	"github.com/zkfence/zkfence/fsguard"
	"github.com/zkfence/zkfence/internal/fstest"
)

// Run with, for example:
//
//	go test -run '^$' -bench . -benchtime 1x ./bench/internal/fsbench/ -args -fsbench.trials 20
//
// Each benchmark op runs every trial; the figures are reported as metrics
// (milliseconds) and the summary is logged.
var (
	benchTrials   = flag.Int("fsbench.trials", 20, "trials per measurement")
	benchInterval = flag.Duration("fsbench.interval", fsguard.DefaultProbeInterval, "probe interval")
	benchTimeout  = flag.Duration("fsbench.timeout", fsguard.DefaultProbeTimeout, "probe timeout")
	benchGrace    = flag.Duration("fsbench.grace", time.Second, "stop signal to SIGKILL, as --stop-grace")
)

func benchOptions() fsbench.Options {
	return fsbench.Options{Trials: *benchTrials, Interval: *benchInterval, Timeout: *benchTimeout, Grace: *benchGrace}
}

func benchmarkDetect(b *testing.B, cut fsbench.Cut) {
	fstest.RequireRoot(b)
	for range b.N {
		r, err := fsbench.Detection(cut, benchOptions())
		if err != nil {
			b.Fatal(err)
		}
		b.Log(r)
		b.Logf("causes: %q", r.Errors)
		report(b, "detect", r.Detect)
		report(b, "death", r.Death)
	}
}

func report(b *testing.B, what string, s fsbench.Stats) {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(s.Median), what+"-median-ms")
	b.ReportMetric(ms(s.Max), what+"-max-ms")
}

// BenchmarkDetectENOTCONN: the FUSE daemon is killed.
func BenchmarkDetectENOTCONN(b *testing.B) { benchmarkDetect(b, fsbench.CutKill) }

// BenchmarkDetectHung: the FUSE daemon is stopped; only the timeout can tell.
func BenchmarkDetectHung(b *testing.B) { benchmarkDetect(b, fsbench.CutFreeze) }

// BenchmarkStartup: what Prepare adds to a wrapper's start.
func BenchmarkStartup(b *testing.B) {
	fstest.RequireRoot(b)
	for range b.N {
		r, err := fsbench.Startup(benchOptions(), 1024)
		if err != nil {
			b.Fatal(err)
		}
		b.Log(r)
		report(b, "shared", r.Shared)
		report(b, "device", r.Device)
	}
}
