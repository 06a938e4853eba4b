package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/zkfence/zkfence/fence"
	"github.com/zkfence/zkfence/lock"
)

// prepare does everything that must hold before the child may start (I2):
// the lock, then with the lock held the storage (I4), the fence record and
// the restore. Everything after the lock runs under a context that ends
// when the lease is lost, so that no fsck, mount or restore outlives it.
func (r *run) prepare(ctx context.Context) error {
	if err := r.lock(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-r.lease.Lost():
			cancel()
		case <-ctx.Done():
		}
	}()
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

// duringLease reports a failed phase as a lost lock when the lease ended
// meanwhile, which is then the real cause.
func (r *run) duringLease(phase string, err error) error {
	if isClosed(r.lease.Lost()) {
		return fmt.Errorf("%w during %s: %v", ErrLockLost, phase, r.lease.Err())
	}
	return err
}

// prepareStorage checks (and maybe fsck's and mounts) the volumes, then puts
// our token on each of them.
func (r *run) prepareStorage(ctx context.Context) error {
	if r.cfg.Storage == nil {
		return nil
	}
	g, err := r.cfg.Storage.Prepare(ctx)
	if err != nil {
		return err
	}
	r.guarded = g
	if r.cfg.Fence == nil {
		return nil
	}
	c := fence.Claim{
		Service: r.cfg.LockPath, Token: r.lease.Token(), Holder: lock.Self(r.cfg.Version).String(),
		LockDelay: r.cfg.Fence.LockDelay, ClaimNew: r.cfg.Fence.ClaimNew, TakeOver: r.cfg.Fence.TakeOver,
	}
	// The lock-delay may make Acquire wait; beyond it the record's I/O must
	// not hang the start on a mount that stopped answering.
	limit := r.cfg.Fence.LockDelay + r.cfg.StopTime() + 10*time.Second
	for _, root := range g.Roots() {
		err := bounded(ctx, limit, "fence record on "+root, func(ctx context.Context) error {
			return fence.Acquire(ctx, root, c, r.cfg.Clock, r.log)
		})
		if err != nil {
			return err
		}
	}
	r.claim = &c
	r.log.Info("fence token written", "token", c.Token, "volumes", g.Roots())
	return nil
}

// lock dials ZooKeeper and queues for the lock, starting over with a new
// session if the one it waits with is lost. It ends only with the lock held,
// a refused configuration, or ctx done.
func (r *run) lock(ctx context.Context) error {
	backoff := time.Second
	for {
		sess, err := lock.Dial(ctx, r.cfg.ZK)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrNotAcquired, err)
		}
		budget, err := r.negotiatedBudget(sess)
		if err != nil {
			sess.Close()
			return err
		}
		held, err := sess.Acquire(ctx, lock.AcquireOptions{
			Path: r.cfg.LockPath,
			Data: lock.Self(r.cfg.Version).Encode(),
			OnWait: func(w lock.Waiting) {
				r.log.Info("waiting for the lock", "lock", r.cfg.LockPath, "ahead", w.Ahead, "watching", w.Predecessor)
				r.cfg.Health.Waiting(w.Ahead, w.Predecessor)
			},
		})
		if err == nil {
			r.sess = sess
			r.lease = sess.NewLease(held, budget, r.cfg.Clock, held.Confirmed,
				func(_ time.Time, rtt time.Duration, err error) {
					r.leaseRenewed()
					r.cfg.Health.Renewal(rtt, err)
				})
			r.cfg.Health.Acquired(held.Token, lock.Self(r.cfg.Version).String(), r.lease.StopBy)
			r.log.Info("lock acquired", "lock", r.cfg.LockPath, "token", held.Token, "node", held.Node,
				"stop_after", budget.StopAfter().Round(time.Millisecond), "kill_by", budget.KillBy().Round(time.Millisecond))
			return nil
		}
		sess.Close()
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %v", ErrNotAcquired, ctx.Err())
		}
		r.log.Warn("lost the zookeeper session while waiting for the lock; starting over", "err", err, "retry_in", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return fmt.Errorf("%w: %v", ErrNotAcquired, ctx.Err())
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// negotiatedBudget checks the budget again with the timeout the server
// granted, which may be smaller than the one requested.
func (r *run) negotiatedBudget(sess *lock.Session) (lock.Budget, error) {
	negotiated := sess.NegotiatedTimeout()
	b := r.cfg.budget(negotiated)
	if negotiated < r.cfg.ZK.SessionTimeout {
		r.log.Warn("zookeeper granted a shorter session timeout than requested",
			"requested", r.cfg.ZK.SessionTimeout, "negotiated", negotiated)
	}
	if err := b.Validate(); err != nil {
		return b, fmt.Errorf("%w: with the negotiated session timeout %s (requested %s): %v",
			ErrRefused, negotiated, r.cfg.ZK.SessionTimeout, err)
	}
	return b, nil
}
