package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/zkfence/zkfence/lock"
)

// zkLocker is the production locker: a ZooKeeper session, the lock recipe
// and the lease of package lock.
type zkLocker struct {
	cfg  *Config
	log  *slog.Logger
	self lock.Holder // stored in the lock node
	// moved is called each time the lease's deadlines move (freeze guard).
	moved func()
}

// Lock dials ZooKeeper and queues for the lock, starting over with a new
// session if the one it waits with is lost. It ends only with the lock held,
// a refused configuration, or ctx done.
func (z *zkLocker) Lock(ctx context.Context) (Holding, error) {
	backoff := time.Second
	for {
		h, err := z.try(ctx)
		if err == nil || !retryLock(err) || ctx.Err() != nil {
			return h, err
		}
		z.log.Warn("lost the zookeeper session while waiting for the lock; starting over", "err", err, "retry_in", backoff)
		t := z.cfg.Clock.NewTimer(backoff)
		select {
		case <-t.C():
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w: %v", ErrNotAcquired, ctx.Err())
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// errRetryLock marks a failure after which a new session may succeed.
type errRetryLock struct{ err error }

func (e errRetryLock) Error() string { return e.err.Error() }
func (e errRetryLock) Unwrap() error { return e.err }

func retryLock(err error) bool {
	_, ok := err.(errRetryLock)
	return ok
}

// try is one session's attempt.
func (z *zkLocker) try(ctx context.Context) (Holding, error) {
	cfg := z.cfg
	sess, err := lock.Dial(ctx, cfg.ZK)
	if errors.Is(err, lock.ErrRefused) { // credentials the server refuses: never retried
		return nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotAcquired, err)
	}
	budget, err := z.negotiatedBudget(sess)
	if err != nil {
		sess.Close()
		return nil, err
	}
	watch, stopWatch := z.holderWatcher(sess)
	held, err := sess.Acquire(ctx, lock.AcquireOptions{
		Path: cfg.LockPath,
		Data: z.self.Encode(),
		OnWait: func(w lock.Waiting) {
			z.log.Info("waiting for the lock", "lock", cfg.LockPath, "ahead", w.Ahead, "watching", w.Predecessor)
			cfg.Health.Waiting(w.Ahead, w.Predecessor)
			watch(ctx, w)
		},
	})
	stopWatch() // we hold the lock, or gave up
	if err != nil {
		sess.Close()
		if errors.Is(err, lock.ErrRefused) { // NOAUTH, an open ACL under credentials: never retried
			return nil, fmt.Errorf("%w: %w", ErrRefused, err)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotAcquired, ctx.Err())
		}
		return nil, errRetryLock{err}
	}
	lease, err := sess.NewLease(held, lock.LeaseOptions{
		Budget: budget, Clock: cfg.Clock, Start: held.Confirmed,
		Observe: func(_ time.Time, rtt time.Duration, err error) {
			cfg.Health.Renewal(rtt, err)
			if err != nil { // the logger never blocks (asynclog)
				z.log.Warn("lease renewal failed; will retry", "err", err)
			}
		},
		Moved: z.moved,
	})
	if err != nil {
		sess.Close()
		return nil, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	return &zkHolding{sess: sess, lease: lease, path: cfg.LockPath}, nil
}

// negotiatedBudget checks the budget again with the timeout the server
// granted, which may be smaller than the one requested.
func (z *zkLocker) negotiatedBudget(sess *lock.Session) (lock.Budget, error) {
	negotiated := sess.NegotiatedTimeout()
	b := z.cfg.budget(negotiated)
	if negotiated < z.cfg.ZK.SessionTimeout {
		z.log.Warn("zookeeper granted a shorter session timeout than requested",
			"requested", z.cfg.ZK.SessionTimeout, "negotiated", negotiated)
	}
	if err := b.Validate(); err != nil {
		return b, fmt.Errorf("%w: with the negotiated session timeout %s (requested %s): %v",
			ErrRefused, negotiated, z.cfg.ZK.SessionTimeout, err)
	}
	return b, nil
}

// zkHolding is Holding over a lock.Session and its lease.
type zkHolding struct {
	sess  *lock.Session
	lease *lock.Lease
	path  string
}

func (h *zkHolding) Lease() Lease { return h.lease }

func (h *zkHolding) ReadFenceState(ctx context.Context) (lock.VersionedFenceState, error) {
	return h.sess.ReadFenceState(h.path)
}

func (h *zkHolding) WriteFenceState(ctx context.Context, prev lock.VersionedFenceState, st lock.FenceState) (lock.VersionedFenceState, error) {
	return h.sess.WriteFenceState(ctx, h.path, h.lease.Node(), prev, st)
}

func (h *zkHolding) Release(ctx context.Context) error { return h.sess.Release(ctx, h.lease) }

func (h *zkHolding) Abandon() { h.sess.Abandon(h.lease) }

// holderWatcher returns the OnWait hook of the fast takeover and its stop:
// while this session is the first waiter it probes the holder
// (holderWatch); a new predecessor, or stop, ends the watch of the
// previous one.
func (z *zkLocker) holderWatcher(sess *lock.Session) (watch func(context.Context, lock.Waiting), stop func()) {
	if z.cfg.FastTakeover == nil {
		return func(context.Context, lock.Waiting) {}, func() {}
	}
	var cancel context.CancelFunc
	var done chan struct{}
	stop = func() {
		if cancel != nil {
			cancel()
			<-done
			cancel = nil
		}
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	watch = func(ctx context.Context, w lock.Waiting) {
		stop()
		if w.Ahead != 1 {
			return
		}
		var wctx context.Context
		wctx, cancel = context.WithCancel(ctx)
		done = make(chan struct{})
		hw := &holderWatch{sess: sess, cfg: z.cfg, self: z.self, holder: w.Predecessor, metrics: z.cfg.Health, client: client}
		go func(done chan struct{}) {
			defer close(done)
			hw.run(wctx)
		}(done)
	}
	return watch, stop
}
