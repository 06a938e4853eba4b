// Package restorebench times zkfence's built-in restore (restore.Run)
// against plain tar -x of the same data (make bench). It is bench code: it
// lives under bench/ so that restore holds only what zkfence runs, and it
// uses restore's exported API alone.
package restorebench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/zkfence/zkfence/restore"
)

// Throughput compares the built-in restore with plain tar -x of the same
// data into the same filesystem (make bench). MB is 10^6 bytes.
type Throughput struct {
	Bytes       int64
	Files       int
	OursMBps    float64 // restore.Run: copy, SHA-256 of every file, fsync, rename
	TarMBps     float64 // tar -xf of the same data (no fsync)
	TarSyncMBps float64 // tar -xf, then sync -f: as durable as Run
	Ratio       float64 // OursMBps / TarMBps
	RatioSync   float64 // OursMBps / TarSyncMBps
}

// benchRuns is how many times each contender runs; the median counts.
const benchRuns = 5

// Measure builds a synthetic PostgreSQL-like data directory of
// about sizeMB in a backup catalog under dir (which must exist and is left
// holding only what it held before), and times Run against tar -x of the
// same data, warm cache for both, median of benchRuns each. restore.Run restores
// into an existing empty directory, tar extracts into one.
func Measure(ctx context.Context, dir string, sizeMB int, log *slog.Logger) (Throughput, error) {
	work, err := os.MkdirTemp(dir, "restore-bench-")
	if err != nil {
		return Throughput{}, err
	}
	defer os.RemoveAll(work)
	cat, tarball := filepath.Join(work, "catalog"), filepath.Join(work, "data.tar")
	m, err := benchBackup(ctx, cat, int64(sizeMB)*1e6)
	if err != nil {
		return Throughput{}, err
	}
	if out, err := exec.CommandContext(ctx, "tar", "-cf", tarball, "-C", filepath.Join(cat, m.Name, restore.DataSubdir), ".").CombinedOutput(); err != nil {
		return Throughput{}, fmt.Errorf("tar -c: %v: %s", err, out)
	}
	tp := Throughput{Bytes: m.Bytes, Files: len(m.Files)}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ours := func(out string) error {
		_, err := restore.Run(ctx, restore.Config{DataDir: out, Engine: restore.Postgres, From: cat, UID: -1, GID: -1}, quiet)
		return err
	}
	untar := func(out string) error { return runCmd(ctx, "tar", "-xf", tarball, "-C", out) }
	untarSync := func(out string) error {
		if err := untar(out); err != nil {
			return err
		}
		return runCmd(ctx, "sync", "-f", out)
	}
	rates, err := benchInterleaved(work, m.Bytes, []func(string) error{ours, untar, untarSync})
	if err != nil {
		return tp, err
	}
	tp.OursMBps, tp.TarMBps, tp.TarSyncMBps = rates[0], rates[1], rates[2]
	tp.Ratio, tp.RatioSync = tp.OursMBps/tp.TarMBps, tp.OursMBps/tp.TarSyncMBps
	log.Info("restore throughput", "bytes", tp.Bytes, "files", tp.Files, "ours_mb_per_s", round2(tp.OursMBps),
		"tar_mb_per_s", round2(tp.TarMBps), "tar_sync_mb_per_s", round2(tp.TarSyncMBps),
		"ratio", round2(tp.Ratio), "ratio_vs_tar_sync", round2(tp.RatioSync))
	return tp, nil
}

// benchInterleaved runs each contender into a fresh directory, one after
// the other, benchRuns rounds, and returns each one's median MB/s:
// interleaving spreads the noise of a shared machine over all of them.
// Dirty pages are flushed before each run, so that no run pays for the
// previous one's writeback.
func benchInterleaved(work string, bytes int64, fns []func(string) error) ([]float64, error) {
	rates := make([][]float64, len(fns))
	for round := range benchRuns {
		for i, fn := range fns {
			out := filepath.Join(work, fmt.Sprintf("out-%d-%d", round, i))
			if err := os.Mkdir(out, 0o700); err != nil {
				return nil, err
			}
			if err := runCmd(context.Background(), "sync", "-f", work); err != nil {
				return nil, err
			}
			start := time.Now()
			if err := fn(out); err != nil {
				return nil, err
			}
			rates[i] = append(rates[i], float64(bytes)/1e6/time.Since(start).Seconds())
			if err := os.RemoveAll(out); err != nil {
				return nil, err
			}
		}
	}
	medians := make([]float64, len(fns))
	for i, r := range rates {
		slices.Sort(r)
		medians[i] = r[len(r)/2]
	}
	return medians, nil
}

func runCmd(ctx context.Context, name string, args ...string) error {
	if out, err := exec.CommandContext(ctx, name, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v: %s", name, err, out)
	}
	return nil
}

func round2(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }
