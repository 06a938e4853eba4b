package restore

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Scheduler takes a backup every interval while it runs. The run pipeline
// starts it once the child runs with the lock held, and stops it when the
// lock is lost or the child exits: Stop cancels a backup in flight (its
// directory is removed, or pruned later if zkfence dies) and waits for it.
type Scheduler struct {
	cfg    BackupConfig
	every  time.Duration
	log    *slog.Logger
	onDone func(Manifest, error) // tests

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// NewScheduler returns a scheduler for cfg every interval (> 0). onDone,
// if not nil, is called after every backup with its result.
func NewScheduler(cfg BackupConfig, every time.Duration, log *slog.Logger, onDone func(Manifest, error)) *Scheduler {
	if log == nil {
		log = slog.Default()
	}
	return &Scheduler{cfg: cfg, every: every, log: log, onDone: onDone}
}

// Start begins the schedule: the first backup one interval from now, since
// the server has just started. A failed backup is logged and retried at the
// next tick; it never stops the child. Start after Start is a no-op.
func (s *Scheduler) Start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done != nil {
		return
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go s.loop(ctx, s.done)
}

// Stop cancels the schedule and any backup in flight, and waits for them.
func (s *Scheduler) Stop() {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

func (s *Scheduler) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		m, err := Backup(ctx, s.cfg, s.log)
		if err != nil && ctx.Err() == nil {
			s.log.Error("scheduled backup failed; retrying at the next interval", "err", err, "every", s.every)
		}
		if s.onDone != nil {
			s.onDone(m, err)
		}
	}
}
