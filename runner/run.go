package runner

import (
	"context"
	"log/slog"
	"os"
	"syscall"

	"github.com/zkfence/zkfence/fence"
	"github.com/zkfence/zkfence/internal/clock"
	"github.com/zkfence/zkfence/lock"
	"github.com/zkfence/zkfence/supervise"
)

// run is the state of one `zkfence run`. Each field is set by the phase that
// acquires the thing, and cleanup releases whatever is set, in reverse order.
type run struct {
	cfg  Config
	log  *slog.Logger
	sigs <-chan os.Signal

	sess    *lock.Session
	lease   *lock.Lease
	guarded Guarded       // storage that passed its checks
	claim   *fence.Claim  // set once our token is on every guarded volume
	keeper  *fence.Keeper // heartbeats while the child runs
	watcher Watcher       // the live mount probe
	backups bool          // scheduled backups started
	// mountLost: the run ended because a guarded volume failed; its fence
	// record is left alone (the next holder waits out the lock-delay).
	mountLost bool

	// childDead is true when no child was started or its whole tree was
	// confirmed gone: only then may the volumes be released and unmounted.
	childDead bool
	// unpin frees the thread that started the child (startPinned).
	unpin func()
}

// Run takes the lock, prepares storage, starts the child, watches, and stops
// the child and releases everything when the first thing goes wrong. It
// returns nil when the child exited 0 by itself, *ChildExit for any other
// exit of the child, *Interrupted when a signal stopped it before the child
// started, and otherwise an error wrapping a sentinel of this package or of
// the storage, fence and restore packages.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	sigs, stopSignals := supervise.Signals()
	defer stopSignals()
	if err := supervise.BecomeSubreaper(); err != nil {
		cfg.Logger.Warn("cannot become a child subreaper; orphaned grandchildren will not be reaped", "err", err)
	}
	r := &run{cfg: cfg, log: cfg.Logger, sigs: sigs, childDead: true}
	defer r.cleanup()
	if err := r.interruptible(ctx, r.prepare); err != nil {
		return err
	}
	child, err := r.startChild()
	if err != nil {
		return err
	}
	r.childDead = false
	return r.watch(child)
}

// interruptible runs fn while staying responsive to signals: a terminating
// signal cancels fn's context and ends the run without starting anything.
func (r *run) interruptible(ctx context.Context, fn func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	for {
		select {
		case err := <-done:
			return err
		case sig := <-r.sigs:
			s, _ := sig.(syscall.Signal)
			if !terminating(s) {
				r.log.Info("signal ignored before the child started", "signal", sig)
				continue
			}
			r.log.Info("stopping before the child started", "signal", sig)
			cancel()
			<-done
			return &Interrupted{Signal: s}
		}
	}
}

func terminating(s syscall.Signal) bool {
	return s == syscall.SIGTERM || s == syscall.SIGINT || s == syscall.SIGQUIT
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
