package runner

import (
	"context"
	"fmt"
	"log/slog"
	"syscall"
	"time"

	"github.com/zkfence/zkfence/fence"
	"github.com/zkfence/zkfence/internal/clock"
	"github.com/zkfence/zkfence/lock"
	"github.com/zkfence/zkfence/supervise"
)

// run is the state of one `zkfence run`. Each field is set by the phase that
// acquires the thing, and cleanup releases whatever is set, in reverse order.
type run struct {
	cfg   Config
	log   *slog.Logger
	clock clock.Clock
	deps  deps
	// self is who this run is, the same in the lock node, the fence state,
	// the fence records and ZKFENCE_HOLDER.
	self lock.Holder

	holding Holding
	lease   Lease
	// underLease ends when the lease is lost, when its stop deadline
	// passes, or when the stop of the child begins: every process zkfence
	// starts under the lock (fsck, restore, backups) runs under it and is
	// SIGKILLed when it ends (package heldexec).
	underLease context.Context
	endLease   context.CancelCauseFunc

	fenceState *lock.VersionedFenceState // ours, once written in ZooKeeper
	previous   lock.FenceState           // the previous holder's, as read
	fenced     bool                      // the previous holder was confirmed off: no lock-delay
	attached   bool                      // the attach command succeeded
	guarded    Guarded                   // storage that passed its checks
	claim      *fence.Claim              // set once our token is on every guarded volume
	keeper     *fence.Keeper             // heartbeats while the child runs
	watcher    Watcher                   // the live mount probe
	backups    bool                      // scheduled backups started
	// mountLost: the run ended because a guarded volume failed; its fence
	// record is left alone (the next holder waits out the lock-delay).
	mountLost bool
	// storageStuck: a call of ours into the guarded storage (a fence
	// record read or write, an unmount) was abandoned while still in the
	// filesystem; it may write whenever the volume answers again, so the
	// lock is not let go (cleanup).
	storageStuck bool
	// fencedOnVolumes are the holders named by volumes' fence records (not
	// by ZooKeeper) that the agent confirmed off: only their own records
	// skip the lock-delay (fence.Claim.FencedHolders).
	fencedOnVolumes []fence.FencedHolder

	// childDead is true when no child was started or its whole tree was
	// confirmed gone: only then may the volumes and the lock be released.
	childDead bool
	// strays: a process left behind by one started under the lock (a
	// daemonized restore script's) survived its SIGKILL (killStrays).
	strays bool
	// unpin frees the thread that started the child (startPinned).
	unpin func()
}

// Run takes the lock, prepares storage, starts the child, watches, and stops
// the child and releases everything when the first thing goes wrong. It
// returns nil when the child exited 0 by itself, *ChildExit for any other
// exit of the child, *Interrupted when a signal stopped it before the child
// started, and otherwise an error wrapping a sentinel of this package or of
// the storage, fence and restore packages. An error that wraps
// ErrNotReleased says the lock was left to expire (see cleanup).
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	sigs, stopSignals := supervise.Signals()
	defer stopSignals()
	if err := supervise.BecomeSubreaper(); err != nil {
		logger(cfg).Warn("cannot become a child subreaper; orphaned grandchildren will not be reaped", "err", err)
	}
	r := newRun(cfg, deps{start: startPinned, signals: sigs})
	r.deps.locker = &zkLocker{cfg: &r.cfg, log: r.log, self: r.self, moved: r.leaseMoved}
	return r.run(ctx)
}

func logger(cfg Config) *slog.Logger {
	if cfg.Logger == nil {
		return slog.Default()
	}
	return cfg.Logger
}

func newRun(cfg Config, d deps) *run {
	cfg.Logger = logger(cfg)
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if d.killStrays == nil {
		d.killStrays = supervise.KillStrays
	}
	self := lock.Self(cfg.Version)
	self.FenceID, self.HTTP = cfg.FenceID, cfg.Advertise
	return &run{cfg: cfg, log: cfg.Logger, clock: cfg.Clock, deps: d, self: self, childDead: true}
}

// run is the order of events of one `zkfence run`, all in one place:
//
//  1. lock: queue for the lock; the lease starts (and the freeze guard is
//     armed) the moment it is held.
//  2. takeOver: read the ZooKeeper fence state (with a fence agent, read
//     also the fence records of the shared volumes already mounted,
//     writing nothing: they name the previous holder when the state names
//     nobody, or an older one); fence (or wait out) a
//     previous holder that did not let go cleanly; write ourselves in.
//  3. attach, then storage: attach the device; check, fsck and mount the
//     volumes; put our token on them.
//  4. restore: fill an empty data directory.
//  5. kill what processes started under the lock left behind (strays);
//     a signal that came meanwhile ends the run here: no child.
//  6. start the one child of this run.
//  7. watch: lease, mount, fence record, child, signals; the first to go
//     wrong stops the child (SIGKILL at once when the lock is already gone).
//  8. cleanup: let go of storage and the lock only when nothing of ours can
//     still write; otherwise leave them to expire.
func (r *run) run(ctx context.Context) (err error) {
	defer func() { err = r.cleanup(err) }()
	if err := r.interruptible(ctx, r.prepare); err != nil {
		return err
	}
	if err := r.killStrays(); err != nil {
		return err
	}
	if sig, ok := r.pendingStop(); ok { // last before the start (issue 15, item 9)
		return &Interrupted{Signal: sig}
	}
	child, err := r.startChild()
	if err != nil {
		return err
	}
	r.childDead = false
	return r.watch(child)
}

// prepare does everything that must hold before the child may start (I2):
// the lock, then with the lock held the takeover, the storage (I4), the
// fence record and the restore. Everything after the lock runs under a
// context that ends with the lease, so that nothing started outlives it.
func (r *run) prepare(ctx context.Context) error {
	if err := r.acquire(ctx); err != nil {
		return err
	}
	ctx, cancel := r.whileHeld(ctx)
	defer cancel()
	if err := r.takeOver(ctx); err != nil {
		return r.duringLease("takeover", err)
	}
	if err := r.attach(ctx); err != nil {
		return r.duringLease("attach", err)
	}
	if err := r.prepareStorage(ctx); err != nil {
		return r.duringLease("storage", err)
	}
	if r.cfg.Restorer != nil {
		if err := r.cfg.Restorer.Restore(ctx, r.lease.Token()); err != nil {
			return r.duringLease("restore", err)
		}
	}
	return nil
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
		case sig := <-r.deps.signals:
			s, _ := sig.(syscall.Signal)
			if !terminating(s) {
				r.log.Info("signal ignored before the child started", "signal", sig)
				continue
			}
			cancel()
			<-done
			r.log.Info("stopped before the child started", "signal", sig)
			return &Interrupted{Signal: s}
		}
	}
}

// pendingStop takes the signals that came while the preparation finished:
// a terminating one ends the run before the child starts.
func (r *run) pendingStop() (syscall.Signal, bool) {
	for {
		select {
		case sig := <-r.deps.signals:
			if s, _ := sig.(syscall.Signal); terminating(s) {
				r.log.Info("stopped before the child started", "signal", sig)
				return s, true
			}
			r.log.Info("signal ignored before the child started", "signal", sig)
		default:
			return 0, false
		}
	}
}

// killStrays SIGKILLs and reaps what the processes started under the lock
// left behind when they daemonized (setsid, double fork): as the child
// subreaper zkfence inherits them, and neither heldexec's group kill nor,
// without the freeze guard, a PID namespace reaches them. It runs before the
// child starts and before the lock is let go; a survivor keeps the lock
// from being released (strays).
func (r *run) killStrays() error {
	if err := r.deps.killStrays(time.Now().Add(supervise.KillWait)); err != nil {
		r.strays = true
		return fmt.Errorf("%w: %w", ErrStopFailed, err)
	}
	return nil
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
