package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/zkfence/zkfence/internal/heldexec"
	"github.com/zkfence/zkfence/lock"
)

// acquire takes the lock, and from that instant keeps the under-lease
// context and, when configured, the freeze guard: a freeze during fsck or a
// restore is covered as well as one while the child runs.
func (r *run) acquire(ctx context.Context) error {
	h, err := r.deps.locker.Lock(ctx)
	if err != nil {
		return err
	}
	r.holding, r.lease = h, h.Lease()
	r.followLease()
	if err := r.armFreezeGuard(); err != nil {
		return fmt.Errorf("freeze guard: %w", err)
	}
	holder := r.self.String()
	r.cfg.Health.Acquired(r.lease.Token(), holder, r.lease.StopBy)
	r.log.Info("lock acquired", "lock", r.cfg.LockPath, "token", r.lease.Token(), "node", r.lease.Node(),
		"stop_in", r.lease.StopBy().Sub(r.clock.Now()).Round(time.Millisecond),
		"kill_in", r.lease.KillBy().Sub(r.clock.Now()).Round(time.Millisecond))
	return nil
}

// followLease starts the under-lease context: it ends when the lease is
// lost or, whatever the lease's own loop has noticed, when its stop deadline
// passes (a timer of its own, so that nothing the lease goroutine waits on
// can delay it).
func (r *run) followLease() {
	ctx, cancel := context.WithCancelCause(context.Background())
	if r.cfg.FreezeGuard != nil {
		// Processes under the lock die with zkfence's whole namespace
		// when the guard's kernel timer kills zkfence.
		ctx = heldexec.WithPIDNamespace(ctx)
	}
	r.underLease, r.endLease = ctx, cancel
	go func() {
		t := r.clock.NewTimer(r.lease.StopBy().Sub(r.clock.Now()))
		defer t.Stop()
		for {
			select {
			case <-r.lease.Lost():
				cancel(r.leaseLoss())
				return
			case <-t.C():
				if r.lease.Overdue() {
					cancel(r.leaseLoss())
					return
				}
				t.Reset(r.lease.StopBy().Sub(r.clock.Now()))
			case <-ctx.Done():
				return
			}
		}
	}()
}

// whileHeld returns ctx, ended also when the lease ends, and carrying the
// under-lease context's values (heldexec's namespace).
func (r *run) whileHeld(ctx context.Context) (context.Context, context.CancelFunc) {
	held, cancel := context.WithCancelCause(r.underLease)
	stop := context.AfterFunc(ctx, func() { cancel(context.Cause(ctx)) })
	return held, func() { stop(); cancel(context.Canceled) }
}

// leaseLoss is why the lease ended, wrapping ErrLockLost.
func (r *run) leaseLoss() error {
	if err := r.lease.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrLockLost, err)
	}
	return fmt.Errorf("%w: %w", ErrLockLost, lock.ErrLeaseDeadline)
}

// lockGone reports whether ZooKeeper says the lock is already gone (node
// deleted or not ours, session expired or replaced): another holder may
// exist now, so there is no time for a graceful stop.
func (r *run) lockGone() bool {
	return isClosed(r.lease.Gone())
}

// duringLease reports a failed phase as a lost lock when the lease ended
// meanwhile, which is then the real cause.
func (r *run) duringLease(phase string, err error) error {
	if r.underLease.Err() != nil {
		return fmt.Errorf("during %s: %w", phase, context.Cause(r.underLease))
	}
	return err
}
