package restore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkfence/zkfence/internal/durable"
	"github.com/zkfence/zkfence/internal/heldexec"
)

// fromCatalog restores the first candidate backup that verifies, skipping
// corrupt ones (unless one was named) with a warning.
func fromCatalog(ctx context.Context, cfg Config, want string, t target, log *slog.Logger) (Result, error) {
	entries, err := List(cfg.From)
	if err != nil {
		return Result{}, failedf("read catalog %s: %v", cfg.From, err)
	}
	cands, err := candidates(entries, cfg, want)
	if err != nil {
		return Result{}, err
	}
	for i, e := range cands {
		log.Info("restoring backup", "backup", e.Name, "engine", e.Manifest.Engine, "version", e.Manifest.Version,
			"created", e.Manifest.Created, "bytes", e.Manifest.Bytes, "files", len(e.Manifest.Files))
		res, err := t.attempt(ctx, cfg, log, func(ctx context.Context, s *staging) (filled, error) {
			return fillFromBackup(ctx, e, s, t, cfg.progressEvery(), log)
		})
		if err == nil || !errors.Is(err, ErrCorrupt) || cfg.Backup != "" {
			return res, err
		}
		log.Warn("backup does not verify; trying the next older one", "backup", e.Name, "err", err, "left", len(cands)-i-1)
	}
	return Result{}, failedf("none of the %d candidate backups in %s verifies", len(cands), cfg.From)
}

// fillFromBackup copies one backup into staging, verifying every file.
func fillFromBackup(ctx context.Context, e Entry, s *staging, t target, every time.Duration, log *slog.Logger) (filled, error) {
	m := e.Manifest
	eng := engines[m.Engine]
	src, err := openBackupData(e)
	if err != nil {
		return filled{}, err
	}
	defer src.Close()
	if err := checkTree(src, m); err != nil {
		return filled{}, err
	}
	rootMode, err := makeDirs(s.root, m.Dirs, eng, t)
	if err != nil {
		return filled{}, err
	}
	fsRef, err := s.root.Open(".")
	if err != nil {
		return filled{}, err
	}
	defer fsRef.Close()
	var count atomic.Int64
	p := startProgress(log, e.Name, every, m.Bytes, count.Load)
	err = copyAll(ctx, src, s.root, m.Files, eng, t, &count)
	p.Stop()
	if err != nil {
		return filled{}, err
	}
	if err := makeDurable(ctx, s.root, fsRef, stagedPaths(m.Files), stagedDirs(m.Dirs)); err != nil {
		return filled{}, err
	}
	return filled{eng: eng, rootMode: rootMode, marker: Marker{
		Backup: e.Name, Source: filepath.Dir(e.Dir), Engine: m.Engine, Version: m.Version,
		Created: m.Created, Bytes: m.Bytes, Files: len(m.Files),
	}}, nil
}

// openBackupData opens a backup's data directory as a Root, refusing a
// symlink at the backup or at its data directory (ErrCorrupt).
func openBackupData(e Entry) (*os.Root, error) {
	cat, err := os.OpenRoot(filepath.Dir(e.Dir))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	defer cat.Close()
	b, _, err := durable.OpenDir(cat, e.Name)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	defer b.Close()
	d, _, err := durable.OpenDir(b, DataSubdir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return d, nil
}

// makeDirs creates the backup's directories in staging, parents first,
// with the engine's modes and the target's owner. The staging directory
// itself keeps zkfence's owner and 0700 until it is placed: rootMode is
// the mode the data directory gets then.
func makeDirs(staging *os.Root, dirs []Dir, eng engine, t target) (rootMode fs.FileMode, err error) {
	rootMode = eng.dirMode(0o700)
	for _, d := range dirs {
		if d.Path == "." {
			rootMode = eng.dirMode(fs.FileMode(d.Mode))
			continue
		}
		if err := staging.Mkdir(d.Path, 0o700); err != nil {
			return 0, err
		}
		if err := chownChmod(staging, d.Path, t.uid, t.gid, eng.dirMode(fs.FileMode(d.Mode))); err != nil {
			return 0, err
		}
	}
	return rootMode, nil
}

// copyAll copies and verifies files in parallel; the first error stops all.
func copyAll(ctx context.Context, src, dst *os.Root, files []File, eng engine, t target, count *atomic.Int64) error {
	return parallel(ctx, files, func(ctx context.Context, f File) error {
		return copyVerified(ctx, src, dst, f, eng.fileMode(fs.FileMode(f.Mode)), t.uid, t.gid, count)
	})
}

// stagedPaths are the files' paths in staging.
func stagedPaths(files []File) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.Path
	}
	return out
}

// stagedDirs are the directories' paths in staging, parents first, the
// staging directory itself first of all.
func stagedDirs(dirs []Dir) []string {
	out := []string{"."}
	for _, d := range dirs {
		if d.Path != "." {
			out = append(out, d.Path)
		}
	}
	return out
}

// fromScript runs the operator's script to fill a staging directory. A
// script that exits 0 and leaves staging empty says: nothing to restore.
func fromScript(ctx context.Context, cfg Config, want string, t target, log *slog.Logger) (Result, error) {
	return t.attempt(ctx, cfg, log, func(ctx context.Context, s *staging) (filled, error) {
		fsRef, err := s.root.Open(".")
		if err != nil {
			return filled{}, err
		}
		defer fsRef.Close()
		if err := runScript(ctx, cfg, want, s.path, log); err != nil {
			return filled{}, err
		}
		names, err := readNamesIn(s.root, ".")
		if err != nil {
			return filled{}, err
		}
		if len(names) == 0 {
			return filled{}, fmt.Errorf("%w: the restore script exited 0 and left the staging directory empty", ErrNoBackup)
		}
		eng, ok, err := detect(s.root, want)
		if err != nil {
			return filled{}, err
		}
		if !ok {
			return filled{}, fmt.Errorf("the restore script exited 0 but left no %s data directory (no engine marker) in staging", want)
		}
		n, files, mode, err := settleTree(ctx, s.root, fsRef, eng, t)
		if err != nil {
			return filled{}, err
		}
		return filled{eng: eng, rootMode: mode,
			marker: Marker{Backup: "cmd", Source: "restore-cmd", Engine: eng.name, Bytes: n, Files: files}}, nil
	})
}

// runScript runs cfg.Cmd with sh -c in staging, with its environment, its
// output in the log, and a timeout. The script runs in its own process
// group, killed whole on timeout or cancellation, and dies with zkfence
// (PDEATHSIG) so that a killed wrapper leaves no writer behind.
func runScript(ctx context.Context, cfg Config, want, staging string, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.cmdTimeout())
	defer cancel()
	cmd := heldexec.Command(ctx, "/bin/sh", "-c", cfg.Cmd)
	cmd.Dir = staging
	cmd.Env = append(withoutOwnConfig(os.Environ()),
		"ZKFENCE_DATA_DIR="+cfg.DataDir,
		"ZKFENCE_STAGING_DIR="+staging,
		"ZKFENCE_TOKEN="+strconv.FormatInt(cfg.Token, 10),
		"ZKFENCE_ENGINE="+want,
	)
	out := newLineLogger(log, slog.LevelInfo, "restore script")
	cmd.Stdout, cmd.Stderr = out, out
	p := startProgress(log, "restore script", cfg.progressEvery(), 0, func() int64 { return treeSize(staging) })
	err := heldexec.Run(cmd)
	p.Stop()
	out.Flush()
	if err == nil {
		return nil
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("the restore script timed out after %s (killed): %w", cfg.cmdTimeout(), err)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("the restore script was stopped: %w", context.Cause(ctx))
	}
	return fmt.Errorf("the restore script failed: %w", err)
}

// withoutOwnConfig drops zkfence's own ZKFENCE_* configuration from the
// environment the script inherits, as the run pipeline does for the child;
// the script gets the ZKFENCE_* variables of its contract instead.
func withoutOwnConfig(environ []string) []string {
	out := environ[:0:0]
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "ZKFENCE_") {
			out = append(out, kv)
		}
	}
	return out
}

// progress logs how a long restore is going: bytes, rate, and an ETA when
// the total is known. It logs nothing for restores shorter than one period.
type progress struct {
	stop chan struct{}
	done chan struct{}
}

// startProgress logs measure() every period until stop is called; total is
// 0 when unknown (a script).
func startProgress(log *slog.Logger, what string, every time.Duration, total int64, measure func() int64) *progress {
	p := &progress{stop: make(chan struct{}), done: make(chan struct{})}
	start := time.Now()
	go func() {
		defer close(p.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				logProgress(log, what, measure(), total, time.Since(start))
			}
		}
	}()
	return p
}

// Stop ends the logging and waits for the logger goroutine.
func (p *progress) Stop() {
	close(p.stop)
	<-p.done
}

func logProgress(log *slog.Logger, what string, n, total int64, elapsed time.Duration) {
	rate := mbps(n, elapsed)
	attrs := []any{"what", what, "bytes", n, "mb_per_s", rate, "elapsed", elapsed.Round(time.Second)}
	if total > 0 {
		attrs = append(attrs, "total", total, "percent", round1(100*float64(n)/float64(total)))
		if n > 0 && n < total {
			eta := time.Duration(float64(elapsed) * float64(total-n) / float64(n))
			attrs = append(attrs, "eta", eta.Round(time.Second))
		}
	}
	log.Info("restore progress", attrs...)
}

// mbps is n bytes over d in MB/s (10^6 bytes), to one decimal.
func mbps(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return round1(float64(n) / 1e6 / d.Seconds())
}

func round1(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }

// workers is how many files are copied or fsynced at once: on two cores,
// four keep both the disk and SHA-256 busy while some wait on I/O.
const workers = 4

// parallel calls fn for every item with workers goroutines; the first
// error (or ctx ending) stops the rest and is returned.
func parallel[T any](ctx context.Context, items []T, fn func(context.Context, T) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan T)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for it := range jobs {
				if ctx.Err() != nil {
					continue
				}
				if err := fn(ctx, it); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for _, it := range items {
		select {
		case jobs <- it:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}
