// Package fsbench measures fsguard on real mounts, for `make bench` and the
// benchmarks beside it (needs root, bindfs, losetup, mkfs.ext4, e2fsck). It
// is bench code: it lives under bench/ so that fsguard holds only what
// zkfence runs.
//
//   - Detection: from cutting a bindfs mount (its daemon killed: ENOTCONN;
//     or stopped: every call hangs) to Watcher.Lost, and to the death of a
//     child stopped as the wrapper stops it (stop signal, grace, SIGKILL).
//   - Startup: what Prepare adds to a wrapper's start, for a shared mount
//     (mount table, statfs, write probe) and for a clean ext4 block device
//     (device checks, e2fsck -p, mount, checks).
package fsbench

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/zkfence/zkfence/fsguard"
	"github.com/zkfence/zkfence/internal/fstest"
)

// Cut is how a trial breaks the mount.
type Cut string

const (
	CutKill   Cut = "ENOTCONN" // SIGKILL to the FUSE daemon
	CutFreeze Cut = "hung"     // SIGSTOP to the FUSE daemon
)

// Options of a measurement.
type Options struct {
	Trials            int
	Interval, Timeout time.Duration // the probe's
	Grace             time.Duration // stop signal (SIGTERM) to SIGKILL, as --stop-grace
	Dir               string        // scratch parent; "" means os.TempDir()
}

// Stats summarizes durations.
type Stats struct {
	Samples          []time.Duration
	Min, Median, Max time.Duration
}

func summarize(ds []time.Duration) Stats {
	s := Stats{Samples: ds}
	if len(ds) == 0 {
		return s
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	s.Min, s.Max = sorted[0], sorted[len(sorted)-1]
	if n := len(sorted); n%2 == 1 {
		s.Median = sorted[n/2]
	} else {
		s.Median = (sorted[n/2-1] + sorted[n/2]) / 2
	}
	return s
}

func (s Stats) String() string {
	r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	return fmt.Sprintf("median %s, max %s, min %s (n=%d)", r(s.Median), r(s.Max), r(s.Min), len(s.Samples))
}

// DetectionResult is the outcome of Detection.
type DetectionResult struct {
	Cut     Cut
	Options Options
	Detect  Stats // cut -> Watcher.Lost closed
	Death   Stats // cut -> child reaped
	Errors  []string
}

func (r DetectionResult) String() string {
	return fmt.Sprintf("%s (interval %s, timeout %s, grace %s): detect %s; child dead %s; bound interval+timeout+grace = %s",
		r.Cut, r.Options.Interval, r.Options.Timeout, r.Options.Grace, r.Detect, r.Death,
		r.Options.Interval+r.Options.Timeout+r.Options.Grace)
}

// Detection runs o.Trials trials of one cut, each on a fresh bindfs mount,
// with the cut at a random phase of the probe interval.
func Detection(cut Cut, o Options) (DetectionResult, error) {
	res := DetectionResult{Cut: cut, Options: o}
	scratch, err := os.MkdirTemp(o.Dir, "fsbench-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(scratch) // only after every mount in it is gone
	var detect, death []time.Duration
	for i := range o.Trials {
		dir := filepath.Join(scratch, fmt.Sprint(i))
		d, k, cause, err := detectionTrial(cut, o, dir)
		if err != nil {
			return res, fmt.Errorf("trial %d: %w", i, err)
		}
		detect, death = append(detect, d), append(death, k)
		res.Errors = append(res.Errors, cause)
	}
	res.Detect, res.Death = summarize(detect), summarize(death)
	return res, nil
}

// detectionTrial mounts, prepares, starts a child and a watch, cuts, and
// measures. Everything it made is undone before it returns.
func detectionTrial(cut Cut, o Options, dir string) (detect, death time.Duration, cause string, err error) {
	src, mnt := filepath.Join(dir, "src"), filepath.Join(dir, "mnt")
	for _, d := range []string{src, mnt} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return 0, 0, "", err
		}
	}
	b, err := fstest.StartBindFS(src, mnt)
	if err != nil {
		return 0, 0, "", err
	}
	defer b.Close()
	p, err := fsguard.Prepare(ctxBackground(), []fsguard.Volume{{Path: mnt, FSType: "fuse*"}}, quietLog)
	if err != nil {
		return 0, 0, "", err
	}
	defer p.Release(ctxBackground())
	child := exec.Command("sleep", "3600")
	child.Dir = mnt // like a database in its data directory
	child.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := child.Start(); err != nil {
		return 0, 0, "", err
	}
	w := fsguard.Watch(p, o.Interval, o.Timeout, quietLog)
	defer w.Stop()
	time.Sleep(o.Interval + rand.N(o.Interval)) // a random phase, after the first probe
	cutAt := time.Now()
	if err := cutMount(b, cut); err != nil {
		return 0, 0, "", err
	}
	select {
	case <-w.Lost():
	case <-time.After(o.Interval + o.Timeout + 10*time.Second):
		_ = child.Process.Kill()
		_ = child.Wait()
		return 0, 0, "", fmt.Errorf("not detected within %s", o.Interval+o.Timeout+10*time.Second)
	}
	detect = time.Since(cutAt)
	stopChild(child, o.Grace)
	return detect, time.Since(cutAt), shortCause(w.Err()), nil
}

func cutMount(b *fstest.BindMount, cut Cut) error {
	switch cut {
	case CutKill:
		return b.Kill()
	case CutFreeze:
		return b.Freeze()
	}
	return fmt.Errorf("unknown cut %q", cut)
}

// stopChild stops the child's process group as the wrapper does: SIGTERM,
// the grace, SIGKILL, reaped.
func stopChild(child *exec.Cmd, grace time.Duration) {
	pgid := child.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = child.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(grace):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-done
}

func shortCause(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}
