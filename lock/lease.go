package lock

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkfence/zkfence/internal/bounded"
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
//	KillBy = t_s + Budget.KillAfter()   the child is confirmed dead
//
// Lost is closed at StopBy at the latest, and at once on session expiry, on a
// new session ID, or when the node is gone or not ours. A disconnection alone
// changes nothing: the lease just stops being renewed.
type Lease struct {
	held   Held
	budget func() Budget // reads the negotiated timeout, which may shrink
	clock  clock.Clock

	mu       sync.Mutex
	lastSent time.Time // t_s
	err      error

	lost chan struct{}
	gone chan struct{} // closed on a definitive loss, also after Lost (followLoss)
	quit chan struct{}
	done chan struct{}
}

// leaseDeps are what the lease loop needs from the outside world; tests give
// fakes (a fake clock, a scripted renew).
type leaseDeps struct {
	clock  clock.Clock
	budget func() Budget
	renew  func() error    // one renewal request; nil on success
	loss   <-chan error    // immediate reasons to end
	shrunk <-chan struct{} // the negotiated timeout became shorter
	start  time.Time       // send time of the request that confirmed the lock
	// observe, if set, sees every renewal once the lease has applied it:
	// its send time, round trip and outcome (for metrics and logs).
	observe func(sent time.Time, rtt time.Duration, err error)
	// moved, if set, is called each time the deadlines move: after a
	// successful renewal, and at once when the timeout shrinks.
	moved func()
}

// LeaseOptions configure NewLease.
type LeaseOptions struct {
	Budget Budget
	Clock  clock.Clock
	// Start is a time taken before the request that confirmed the lock was
	// sent (Held.Confirmed): the lease counts from it.
	Start time.Time
	// Observe, if set, sees every renewal: its send time, round trip and
	// outcome. It runs on the lease's goroutine and must not block: the
	// lease does no I/O of its own on the way to its deadline, and neither
	// may its callbacks (a log write to a stalled stderr included).
	Observe func(sent time.Time, rtt time.Duration, err error)
	// Moved, if set, is called each time StopBy and KillBy move (a renewal,
	// a shorter negotiated timeout); same rules as Observe.
	Moved func()
}

// NewLease starts the lease of a lock this session holds. It refuses a
// budget that Budget.Validate refuses, with the session's negotiated timeout.
func (s *Session) NewLease(held Held, opt LeaseOptions) (*Lease, error) {
	b := opt.Budget
	b.SessionTimeout = s.NegotiatedTimeout()
	if err := b.Validate(); err != nil {
		return nil, err
	}
	loss := make(chan error, 2)
	l := startLease(held, leaseDeps{
		clock: opt.Clock,
		budget: func() Budget {
			b := opt.Budget
			b.SessionTimeout = s.NegotiatedTimeout()
			return b
		},
		renew:   func() error { return s.renew(held.Node) },
		loss:    loss,
		shrunk:  s.shrunk,
		start:   opt.Start,
		observe: opt.Observe,
		moved:   opt.Moved,
	})
	go func() {
		select {
		case <-s.lost:
			loss <- s.Err()
		case <-l.quit:
		}
	}()
	go s.watchNode(held.Node, loss, l.quit)
	return l, nil
}

func startLease(held Held, d leaseDeps) *Lease {
	l := &Lease{
		held: held, budget: d.budget, clock: d.clock,
		lastSent: d.start,
		lost:     make(chan struct{}), gone: make(chan struct{}), quit: make(chan struct{}), done: make(chan struct{}),
	}
	go l.loop(d)
	return l
}

type renewal struct {
	sent time.Time
	rtt  time.Duration
	err  error
}

// loop renews every heartbeat, with at most one request in flight, and ends
// the lease at its deadline or at the first fatal answer. It does no I/O of
// its own besides the renewal (no logging): nothing may delay the deadline.
func (l *Lease) loop(d leaseDeps) {
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
		case err := <-d.loss:
			l.end(err)
			return
		case <-d.shrunk:
			deadline.Reset(l.untilStop()) // may be in the past: fires at once
			notify(d.moved)
		case <-deadline.C():
			if left := l.untilStop(); left > 0 {
				deadline.Reset(left) // a renewal moved the deadline
				continue
			}
			l.end(ErrLeaseDeadline)
			l.followLoss(d)
			return
		case <-tick.C():
			tick.Reset(l.budget().Heartbeat)
			if !inFlight {
				inFlight = true
				sent := l.clock.Now()
				go func() {
					err := d.renew()
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
				if r.err == nil {
					notify(d.moved)
				}
			}
			if d.observe != nil {
				d.observe(r.sent, r.rtt, r.err)
			}
			if fatal != nil {
				return
			}
		}
	}
}

func notify(f func()) {
	if f != nil {
		f()
	}
}

// renewed applies one renewal's outcome; it returns an error only when the
// lease must end. A failure that is not fatal is only reported to observe.
func (l *Lease) renewed(r renewal) error {
	switch {
	case r.err == nil:
		l.mu.Lock()
		if r.sent.After(l.lastSent) {
			l.lastSent = r.sent
		}
		l.mu.Unlock()
		return nil
	case Definitive(r.err):
		return r.err
	default:
		return nil
	}
}

// Definitive reports whether err says that ZooKeeper has already let the
// lock go (node deleted or owned by another session, session expired or
// replaced): another contender may hold it now. Only a lease that ended at
// its own deadline (ErrLeaseDeadline) leaves time for a graceful stop.
func Definitive(err error) bool {
	return errors.Is(err, ErrNodeGone) || errors.Is(err, ErrNotOwner) ||
		errors.Is(err, ErrSessionExpired) || errors.Is(err, ErrSessionReplaced)
}

func (l *Lease) end(err error) {
	l.mu.Lock()
	l.err = err
	l.mu.Unlock()
	close(l.lost)
	if Definitive(err) {
		close(l.gone)
	}
}

// followLoss waits, once the lease ended at its deadline, for ZooKeeper to
// say that the lock is gone (node deleted or not ours, session expired or
// replaced): the child may still be in its graceful stop, and from then on
// another contender may hold the lock. Err then says why, and Gone closes.
// It ends with the renewals (stop).
func (l *Lease) followLoss(d leaseDeps) {
	select {
	case err := <-d.loss:
		if !Definitive(err) {
			return
		}
		l.mu.Lock()
		l.err = err
		l.mu.Unlock()
		close(l.gone)
	case <-l.quit:
	}
}

// Gone is closed once ZooKeeper has said that the lock is gone (Definitive),
// whether that ended the lease or came after it ended at its deadline.
func (l *Lease) Gone() <-chan struct{} { return l.gone }

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
	return l.lastSent.Add(l.budget().KillAfter())
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
		err = bounded.Err(ctx, func(context.Context) error { return s.deleteNode(l.held.Node) })
		if ctx.Err() != nil && err == context.Cause(ctx) {
			err = fmt.Errorf("delete %s: %w", l.held.Node, err)
		}
	}
	s.Close()
	return err
}

// Abandon stops renewing and leaves the lock node and the session as they
// are: ZooKeeper expires the session T after it last heard from this
// process, and the node goes with it. It is for a holder that may still
// have a writer (a child tree not confirmed dead, a device not unmounted):
// the next holder must not take over at once, and finds the fence state
// not released.
func (s *Session) Abandon(l *Lease) { l.stop() }

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
