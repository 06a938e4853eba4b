package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/zkfence/zkfence/fsguard"
	"github.com/zkfence/zkfence/health"
	"github.com/zkfence/zkfence/restore"
	"github.com/zkfence/zkfence/runner"
)

// The adapters below fit packages fsguard and restore to the run
// pipeline's small interfaces (runner.Storage, runner.Restorer,
// runner.Backups), so that the pipeline knows nothing of their details.

// guardedStorage is runner.Storage over fsguard.
type guardedStorage struct {
	vols  []fsguard.Volume
	probe fsguard.ProbeConfig
	log   *slog.Logger
	state *health.State
}

func (s guardedStorage) Prepare(ctx context.Context) (runner.Guarded, error) {
	p, err := fsguard.Prepare(ctx, s.vols, s.log)
	if p == nil {
		return nil, err // never a typed nil: the runner tests for nil
	}
	return guarded{p: p, s: s}, err
}

// Readable lists the shared filesystems mounted now: their fence records
// can be read before Prepare. A --device is mounted by Prepare, after the
// fsck: nothing on it can be read before then.
func (s guardedStorage) Readable() []string {
	var roots []string
	for _, v := range s.vols {
		if path, ok := fsguard.MountedShared(v); ok {
			roots = append(roots, path)
		}
	}
	return roots
}

type guarded struct {
	p *fsguard.Prepared
	s guardedStorage
}

func (g guarded) Roots() []string { return g.p.Paths() }

func (g guarded) Watch() runner.Watcher {
	observe := func(latency time.Duration, err error) { g.s.state.Mounts(err == nil, err, latency) }
	return fsguard.WatchObserved(g.p, g.s.probe.Interval, g.s.probe.Timeout, g.s.log, observe)
}

func (g guarded) Release(ctx context.Context) error { return g.p.Release(ctx) }

// restorer is runner.Restorer over restore.Run.
type restorer struct {
	cfg   restore.Config
	log   *slog.Logger
	state *health.State
}

func (r restorer) Restore(ctx context.Context, token int64) error {
	cfg := r.cfg
	cfg.Token = token
	res, err := restore.Run(ctx, cfg, r.log)
	switch {
	case errors.Is(err, restore.ErrNoBackup):
		r.log.Info("no backup to restore from; the database initialises itself", "data_dir", cfg.DataDir)
		return nil
	case err != nil:
		if ctx.Err() == nil { // not zkfence stopping
			r.state.RestoreFailed()
		}
		return err
	}
	if res.Restored {
		r.state.Restored(res.Bytes, res.Duration)
	}
	return nil
}

// scheduledBackups is runner.Backups over restore.Scheduler, which it
// builds at Start, once the fencing token is known.
type scheduledBackups struct {
	sched  backupSchedule
	log    *slog.Logger
	state  *health.State
	s      *restore.Scheduler
	cancel context.CancelFunc // cancels the schedule's context before Stop: a backup it cuts short is not a failure
}

// Start starts the schedule. The scheduler logs each outcome itself; the
// health state counts those of backups that were not cancelled by Stop.
func (b *scheduledBackups) Start(ctx context.Context, token int64) {
	cfg := b.sched.Config
	cfg.Token = token
	ctx, cancel := context.WithCancel(ctx)
	b.cancel = cancel
	done := func(_ restore.Manifest, err error) {
		if ctx.Err() == nil {
			b.state.BackedUp(err, time.Now())
		}
	}
	b.s = restore.NewScheduler(cfg, b.sched.Every, b.log, done)
	b.s.Start(ctx)
}

func (b *scheduledBackups) Stop() {
	if b.s != nil {
		b.cancel()
		b.s.Stop()
	}
}
