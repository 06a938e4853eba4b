package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/zkfence/zkfence/fence"
	"github.com/zkfence/zkfence/lock"
)

// zkTimeout bounds each request about the fence state: past it the run
// gives up rather than hold the lock with nothing to show for it.
const zkTimeout = 10 * time.Second

// takeOver reads who held the lock before us from the fence state beside the
// lock in ZooKeeper, before any storage is touched, then writes us in (not
// released) so that the next holder can do the same.
//
// A previous holder that released cleanly needs nothing. One that did not
// (it was cut off, frozen, killed, or could not confirm its child dead or
// unmount its device) may still write: with guarded storage the run waits
// out the lock-delay, counted from now, before going on. This is where a
// fence agent that confirms the previous node off plugs in.
func (r *run) takeOver(ctx context.Context) error {
	prev, err := withTimeout(ctx, func(ctx context.Context) (lock.VersionedFenceState, error) {
		return r.holding.ReadFenceState(ctx)
	})
	if errors.Is(err, lock.ErrFenceStateCorrupt) {
		return fmt.Errorf("%w: %v (delete it only once no other node can run the service)", fence.ErrRefused, err)
	}
	if err != nil {
		return err
	}
	if err := r.waitOutPrevious(ctx, prev); err != nil {
		return err
	}
	ours := lock.FenceState{Service: r.cfg.LockPath, Token: r.lease.Token(),
		Holder: lock.Self(r.cfg.Version).String(), Updated: r.clock.Now().UTC()}
	next, err := withTimeout(ctx, func(ctx context.Context) (lock.VersionedFenceState, error) {
		return r.holding.WriteFenceState(ctx, prev, ours)
	})
	if errors.Is(err, lock.ErrFenceStateChanged) {
		return fmt.Errorf("%w: %v", fence.ErrFenced, err)
	}
	if err != nil {
		return err
	}
	r.fenceState = &next
	return nil
}

// waitOutPrevious decides what the previous holder's state asks of us.
func (r *run) waitOutPrevious(ctx context.Context, prev lock.VersionedFenceState) error {
	switch {
	case !prev.Found():
		r.log.Info("no previous holder recorded in zookeeper", "fence_state", lock.FenceStatePath(r.cfg.LockPath))
		return nil
	case prev.Token > r.lease.Token():
		return fmt.Errorf("%w: the fence state names token %d, newer than ours (%d)", fence.ErrFenced, prev.Token, r.lease.Token())
	case prev.Released:
		r.log.Info("previous holder released cleanly", "token", prev.Token, "holder", prev.Holder)
		return nil
	case r.cfg.Fence == nil:
		r.log.Warn("previous holder did not release cleanly; no guarded storage, so nothing to wait for",
			"token", prev.Token, "holder", prev.Holder)
		return nil
	}
	delay := r.cfg.Fence.LockDelay
	r.log.Warn("previous holder did not release cleanly: waiting out the lock-delay before touching storage",
		"token", prev.Token, "holder", prev.Holder, "lock_delay", delay)
	t := r.clock.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// releaseFenceState marks our fence state released: called only when the
// child tree is confirmed dead and the storage let go. A newer holder's
// state is never overwritten (the version check fails).
func (r *run) releaseFenceState(ctx context.Context) {
	if r.fenceState == nil {
		return
	}
	st := r.fenceState.FenceState
	st.Released, st.Updated = true, r.clock.Now().UTC()
	_, err := withTimeout(ctx, func(ctx context.Context) (lock.VersionedFenceState, error) {
		return r.holding.WriteFenceState(ctx, *r.fenceState, st)
	})
	if err != nil {
		r.log.Warn("fence state not marked released; the next holder waits out the lock-delay", "err", err)
	}
}

// withTimeout runs fn bounded by zkTimeout and ctx.
func withTimeout[T any](ctx context.Context, fn func(context.Context) (T, error)) (T, error) {
	return boundedValue(ctx, zkTimeout, "zookeeper fence state", fn)
}
