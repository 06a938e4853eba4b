package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/zkfence/zkfence/fence"
	"github.com/zkfence/zkfence/lock"
	"github.com/zkfence/zkfence/supervise"
)

// releaseTimeout bounds each release step after the child is gone. If
// ZooKeeper does not answer in time the lock node still goes with the
// session, which is closed right after (or expires).
const releaseTimeout = 5 * time.Second

// watch waits for the first of: lease lost, mount lost, fenced, child exit,
// and forwards every other signal to the child.
func (r *run) watch(child *supervise.Child) error {
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
		r.cfg.Backups.Start(context.Background(), r.lease.Token())
		r.backups = true
	}
	for {
		if r.lease.Overdue() { // first, always: see the package doc
			return r.stopOnLoss(child, "lock", fmt.Errorf("%w: %v", ErrLockLost, lock.ErrLeaseDeadline))
		}
		select {
		case <-r.lease.Lost():
			return r.stopOnLoss(child, "lock", fmt.Errorf("%w: %v", ErrLockLost, r.lease.Err()))
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
		case sig := <-r.sigs:
			r.log.Info("forwarding signal", "signal", sig, "pid", child.Pid())
			child.Forward(sig)
		}
	}
}

// cleanup releases what the run holds, newest first. Volumes are released
// and unmounted only when the child tree is confirmed dead; the lock is
// released last.
func (r *run) cleanup() {
	defer r.cfg.Health.Stopped()
	if r.backups {
		r.cfg.Backups.Stop()
	}
	if r.watcher != nil {
		r.watcher.Stop()
	}
	if r.keeper != nil {
		r.keeper.Stop()
	}
	if r.childDead {
		r.releaseStorage()
	} else {
		r.log.Error("leaving the volumes mounted and fenced: the child tree may still be alive")
	}
	if r.sess != nil {
		ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
		defer cancel()
		if err := r.sess.Release(ctx, r.lease); err != nil {
			r.log.Warn("lock node not deleted; it goes with the session", "err", err)
			return
		}
		r.log.Info("lock released", "lock", r.cfg.LockPath)
	}
}

// releaseStorage marks our fence records released, so the next holder need
// not wait out the lock-delay, then unmounts what was mounted.
func (r *run) releaseStorage() {
	if r.claim != nil && !r.mountLost { // a dead mount cannot take the write
		err := bounded(context.Background(), releaseTimeout, "release fence records", func(context.Context) error {
			return fence.Release(r.guarded.Roots(), *r.claim, r.cfg.Clock.Now())
		})
		if err != nil {
			r.log.Warn("fence record not marked released; the next holder waits out the lock-delay", "err", err)
		}
	}
	if r.guarded != nil {
		err := bounded(context.Background(), releaseTimeout, "release storage", r.guarded.Release)
		if err != nil {
			r.log.Error("storage not released", "err", err)
		}
	}
}
