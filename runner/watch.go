package runner

import (
	"context"
	"errors"
	"fmt"

	"time"

	"github.com/zkfence/zkfence/fence"
	"github.com/zkfence/zkfence/lock"
)

// releaseTimeout bounds each release step after the child is gone. If
// ZooKeeper does not answer in time the lock node still goes with the
// session, which is closed right after (or expires).
const releaseTimeout = 5 * time.Second

// watch waits for the first of: lease lost or past its stop deadline, mount
// lost, fenced, child exit; and forwards every other signal to the child.
func (r *run) watch(child Child) error {
	var mountLost, fenced <-chan struct{}
	if r.guarded != nil {
		r.watcher = r.guarded.Watch()
		mountLost = r.watcher.Lost()
	}
	r.startKeeper()
	if r.keeper != nil {
		fenced = r.keeper.Lost()
	}
	if r.cfg.Backups != nil {
		r.cfg.Backups.Start(r.underLease, r.lease.Token())
		r.backups = true
	}
	for {
		if r.lease.Overdue() { // first, always: see the package doc
			return r.stopOnLoss(child, "lock", fmt.Errorf("%w: %w", ErrLockLost, lock.ErrLeaseDeadline))
		}
		select {
		case <-r.underLease.Done(): // lost, or its stop deadline passed
			return r.stopOnLoss(child, "lock", context.Cause(r.underLease))
		case <-mountLost:
			r.mountLost = true
			return r.stopOnLoss(child, "mount", r.watcher.Err())
		case <-fenced:
			kind := "fenced"
			if errors.Is(r.keeper.Err(), fence.ErrUnreachable) {
				kind, r.mountLost = "mount", true
			}
			return r.stopOnLoss(child, kind, r.keeper.Err())
		case <-child.Done():
			return r.childExited(child)
		case sig := <-r.deps.signals:
			child.Forward(sig)
			r.log.Info("forwarding signal", "signal", sig, "pid", child.Pid())
		}
	}
}

// cleanup ends the hold, newest first, and returns the run's error.
//
// The storage and the lock are let go only when nothing of ours can still
// write: the child tree confirmed dead (or never started), no stray of a
// process started under the lock left (killStrays), every device
// we mounted unmounted, and no call of ours stuck in the storage (a fence
// record write abandoned in a stalled filesystem lands when it answers). Then the volumes' fence records and the ZooKeeper
// fence state are marked released, the lock node is deleted and the session
// closed, so the next contender takes over at once. Otherwise the records,
// the node and the session are kept and left to expire; the next holder
// finds the fence state not released and waits out the lock-delay; and the
// returned error wraps ErrNotReleased (its own exit code).
func (r *run) cleanup(err error) error {
	defer r.cfg.Health.Stopped()
	if r.endLease != nil {
		r.endLease(errRunEnded)
	}
	if r.backups {
		r.cfg.Backups.Stop()
	}
	if r.watcher != nil {
		r.watcher.Stop()
	}
	if r.keeper != nil && !r.keeper.Stop() {
		r.storageStuck = true // a heartbeat (a record write) is still in the filesystem
	}
	if r.holding == nil {
		return err
	}
	if r.childDead && !r.strays {
		if kerr := r.killStrays(); kerr != nil {
			err = errors.Join(err, kerr)
		}
	}
	clean := r.childDead && !r.storageStuck && !r.strays
	if clean {
		r.disarmFreezeGuard()
		clean = r.releaseStorage()
	}
	if !clean {
		r.holding.Abandon()
		r.log.Error("NOT releasing the lock: something of this run may still write (child tree not confirmed dead, " +
			"a device not unmounted, a call stuck in the storage, or a stray of a process started under the lock); " +
			"the lock node and the session are left to expire, " +
			"and the next holder finds the fence state not released")
		return errors.Join(err, ErrNotReleased)
	}
	// One budget for both steps: with ZooKeeper out of reach, neither can
	// succeed, and the session expires on its own.
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	r.releaseFenceState(ctx)
	if rerr := r.holding.Release(ctx); rerr != nil {
		r.log.Warn("lock node not deleted; it goes with the session", "err", rerr)
		return err
	}
	r.log.Info("lock released", "lock", r.cfg.LockPath)
	return err
}

// errRunEnded is the cause of the under-lease context at cleanup.
var errRunEnded = errors.New("the run ended")
