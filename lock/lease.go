package lock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkfence/zkfence/internal/clock"
)

// Lease is the right to run the child, derived from a held lock.
//
// It is renewed only by the wrapper's own requests: every heartbeat an Exists
// on the lock node, which also proves that the node still exists and that its
// ephemeralOwner is our session. The deadline is measured on the monotonic
// clock from the SEND time t_s of the latest request that succeeded, so a
// late answer can never extend it further than is safe:
//
//	StopBy = t_s + Budget.StopAfter()   the stop of the child begins
//	KillBy = t_s + Budget.KillBy()      the child is confirmed dead
//
// Lost is closed at StopBy at the latest, and at once on session expiry, on a
// new session ID, or when the node is gone or not ours. A disconnection alone
// changes nothing: the lease just stops being renewed.
type Lease struct {
	held   Held
	budget func() Budget // reads the negotiated timeout, which may shrink
	clock  clock.Clock
	log    *slog.Logger

	mu       sync.Mutex
	lastSent time.Time // t_s
	err      error

	lost chan struct{}
	quit chan struct{}
	done chan struct{}
}

// leaseDeps are what the lease loop needs from the outside world; tests give
// fakes (a fake clock, a scripted renew).
type leaseDeps struct {
	clock  clock.Clock
	budget func() Budget
	renew  func() error // one renewal request; nil on success
	loss   <-chan error // immediate reasons to end
	start  time.Time    // send time of the request that confirmed the lock
	log    *slog.Logger
	// observe, if set, sees every renewal once the lease has applied it:
	// its send time, round trip and outcome (for metrics, and for tests).
	observe func(sent time.Time, rtt time.Duration, err error)
}

// NewLease starts the lease of a lock this session holds. start is a time
// taken before the request that confirmed the lock was sent. observe, if not
// nil, sees every renewal (for metrics).
func (s *Session) NewLease(held Held, b Budget, clk clock.Clock, start time.Time,
	observe func(sent time.Time, rtt time.Duration, err error)) *Lease {
	loss := make(chan error, 2)
	l := startLease(held, leaseDeps{
		clock: clk,
		budget: func() Budget {
			b := b
			b.SessionTimeout = s.NegotiatedTimeout()
			return b
		},
		renew:   func() error { return s.renew(held.Node) },
		loss:    loss,
		start:   start,
		log:     s.log,
		observe: observe,
	})
	go func() {
		select {
		case <-s.lost:
			loss <- s.Err()
		case <-l.quit:
		}
	}()
	go s.watchNode(held.Node, loss, l.quit)
	return l
}

func startLease(held Held, d leaseDeps) *Lease {
	l := &Lease{
		held: held, budget: d.budget, clock: d.clock, log: d.log,
		lastSent: d.start,
		lost:     make(chan struct{}), quit: make(chan struct{}), done: make(chan struct{}),
	}
	go l.loop(d.renew, d.loss, d.observe)
	return l
}

type renewal struct {
	sent time.Time
	rtt  time.Duration
	err  error
}

// loop renews every heartbeat, with at most one request in flight, and ends
// the lease at its deadline or at the first fatal answer.
func (l *Lease) loop(renew func() error, loss <-chan error, observe func(time.Time, time.Duration, error)) {
	defer close(l.done)
	deadline := l.clock.NewTimer(l.untilStop())
	defer deadline.Stop()
	tick := l.clock.NewTimer(l.budget().Heartbeat)
	defer tick.Stop()
	results := make(chan renewal, 1)
	inFlight := false
	for {
		select {
		case <-l.quit:
			return
		case err := <-loss:
			l.end(err)
			return
		case <-deadline.C():
			if left := l.untilStop(); left > 0 {
				deadline.Reset(left) // a renewal moved the deadline
				continue
			}
			l.end(ErrLeaseDeadline)
			return
		case <-tick.C():
			tick.Reset(l.budget().Heartbeat)
			if !inFlight {
				inFlight = true
				sent := l.clock.Now()
				go func() {
					err := renew()
					results <- renewal{sent, l.clock.Now().Sub(sent), err}
				}()
			}
		case r := <-results:
			inFlight = false
			fatal := l.renewed(r)
			if fatal != nil {
				l.end(fatal)
			} else {
				deadline.Reset(l.untilStop())
			}
			if observe != nil {
				observe(r.sent, r.rtt, r.err)
			}
			if fatal != nil {
				return
			}
		}
	}
}

// renewed applies one renewal's outcome; it returns an error only when the
// lease must end.
func (l *Lease) renewed(r renewal) error {
	switch {
	case r.err == nil:
		l.mu.Lock()
		if r.sent.After(l.lastSent) {
			l.lastSent = r.sent
		}
		l.mu.Unlock()
		return nil
	case errors.Is(r.err, ErrNodeGone), errors.Is(r.err, ErrNotOwner),
		errors.Is(r.err, ErrSessionExpired), errors.Is(r.err, ErrSessionReplaced):
		return r.err
	default:
		l.log.Warn("lease renewal failed; will retry", "err", r.err, "stop_in", l.untilStop().Round(time.Millisecond))
		return nil
	}
}

func (l *Lease) end(err error) {
	l.mu.Lock()
	l.err = err
	l.mu.Unlock()
	close(l.lost)
}

func (l *Lease) untilStop() time.Duration { return l.StopBy().Sub(l.clock.Now()) }

// StopBy is when the stop of the child must begin.
func (l *Lease) StopBy() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastSent.Add(l.budget().StopAfter())
}

// KillBy is when the child must be confirmed dead (D_kill).
func (l *Lease) KillBy() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastSent.Add(l.budget().KillBy())
}

// Overdue reports whether the stop deadline has passed, whatever the loop has
// noticed yet: a process that thaws after a freeze checks this first.
func (l *Lease) Overdue() bool { return !l.clock.Now().Before(l.StopBy()) }

// Lost is closed when the lease can no longer be trusted.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// Err says why the lease was lost, or nil.
func (l *Lease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Token is the fencing token: the lock node's czxid.
func (l *Lease) Token() int64 { return l.held.Token }

// Node is the full path of our lock node.
func (l *Lease) Node() string { return l.held.Node }

// stop ends the renewals without ending the lease.
func (l *Lease) stop() {
	select {
	case <-l.quit:
	default:
		close(l.quit)
	}
	<-l.done
}

// Release stops renewing, deletes the lock node and closes the session, so
// the next contender takes over at once. It is safe to call after loss.
func (s *Session) Release(ctx context.Context, l *Lease) error {
	l.stop()
	var err error
	if s.Err() == nil {
		done := make(chan error, 1)
		go func() { done <- s.deleteNode(l.held.Node) }()
		select {
		case err = <-done:
		case <-ctx.Done():
			err = fmt.Errorf("delete %s: %w", l.held.Node, ctx.Err())
		}
	}
	s.Close()
	return err
}

// renew sends one Exists on our node and checks that it is still ours.
func (s *Session) renew(node string) error {
	ok, stat, err := s.conn.Exists(node)
	switch {
	case errors.Is(err, zk.ErrSessionExpired):
		return ErrSessionExpired
	case err != nil:
		return err
	case !ok:
		return ErrNodeGone
	case stat.EphemeralOwner != s.ID():
		return ErrNotOwner
	}
	return s.Err()
}

// watchNode reports the deletion of our node as soon as ZooKeeper tells. One
// watch is armed at a time, so none pile up in the client.
func (s *Session) watchNode(node string, loss chan<- error, quit <-chan struct{}) {
	for {
		ok, _, events, err := s.conn.ExistsW(node)
		if err == nil && !ok {
			loss <- ErrNodeGone
			return
		}
		var retry <-chan time.Time
		if err != nil {
			retry = time.After(time.Second)
		}
		select {
		case ev := <-events:
			if ev.Type == zk.EventNodeDeleted {
				loss <- ErrNodeGone
				return
			}
		case <-retry:
		case <-quit:
			return
		}
	}
}
