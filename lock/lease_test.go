package lock

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zkfence/zkfence/internal/clock"
)

// fastBudget is DESIGN.md's fast profile: StopAfter = 3.1725 s - 1 s.
var fastBudget = Budget{6 * time.Second, 500 * time.Millisecond, 2, 500 * time.Millisecond, 0.01, time.Second}

type leaseHarness struct {
	t      *testing.T
	clk    *clock.Fake
	calls  chan chan error
	loss   chan error
	shrunk chan struct{}
	moved  chan struct{} // each time the lease says its deadlines moved
	seen   chan error    // renewals the lease has applied
	lease  *Lease
}

func newLeaseHarness(t *testing.T, budget func() Budget) *leaseHarness {
	h := &leaseHarness{t: t, clk: clock.NewFake(time.Unix(1000, 0)), calls: make(chan chan error), loss: make(chan error, 1),
		shrunk: make(chan struct{}, 1), moved: make(chan struct{}, 16), seen: make(chan error, 1)}
	h.lease = startLease(Held{Node: "/l/n", Token: 42}, leaseDeps{
		clock:  h.clk,
		budget: budget,
		renew: func() error {
			answer := make(chan error)
			h.calls <- answer
			return <-answer
		},
		loss:    h.loss,
		shrunk:  h.shrunk,
		observe: func(_ time.Time, _ time.Duration, err error) { h.seen <- err },
		moved:   func() { h.moved <- struct{}{} },
		start:   h.clk.Now(),
	})
	t.Cleanup(h.lease.stop)
	h.settle()
	return h
}

// settle waits until the loop has armed both of its timers again.
func (h *leaseHarness) settle() {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.clk.Waiters() < 2 {
		if time.Now().After(deadline) {
			h.t.Fatal("lease loop did not arm its timers")
		}
		time.Sleep(time.Millisecond)
	}
}

// heartbeat advances one heartbeat and returns the renewal request it starts.
func (h *leaseHarness) heartbeat() chan error {
	h.t.Helper()
	h.settle()
	h.clk.Advance(fastBudget.Heartbeat)
	select {
	case answer := <-h.calls:
		return answer
	case <-time.After(5 * time.Second):
		h.t.Fatal("no renewal after a heartbeat")
		return nil
	}
}

// answer replies to a renewal and waits until the lease has applied it.
func (h *leaseHarness) answer(call chan error, err error) {
	h.t.Helper()
	call <- err
	select {
	case <-h.seen:
	case <-time.After(5 * time.Second):
		h.t.Fatal("renewal answer not applied")
	}
}

func (h *leaseHarness) requireAlive() {
	h.t.Helper()
	h.settle()
	select {
	case <-h.lease.Lost():
		h.t.Fatalf("lease lost early: %v", h.lease.Err())
	default:
	}
}

func (h *leaseHarness) requireLost(want error) {
	h.t.Helper()
	select {
	case <-h.lease.Lost():
	case <-time.After(5 * time.Second):
		h.t.Fatal("lease not lost")
	}
	if !errors.Is(h.lease.Err(), want) {
		h.t.Fatalf("lost with %v, want %v", h.lease.Err(), want)
	}
}

func TestLeaseEndsAtStopAfterWithoutRenewal(t *testing.T) {
	h := newLeaseHarness(t, func() Budget { return fastBudget })
	start := h.clk.Now()
	if got, want := h.lease.StopBy(), start.Add(fastBudget.StopAfter()); !got.Equal(want) {
		t.Fatalf("StopBy = %v, want %v", got, want)
	}
	if got, want := h.lease.KillBy().Sub(h.lease.StopBy()), fastBudget.StopTime; got != want {
		t.Fatalf("KillBy - StopBy = %v, want K = %v", got, want)
	}
	// Every renewal fails as on a dead connection: nothing extends the lease.
	for h.clk.Now().Add(fastBudget.Heartbeat).Before(h.lease.StopBy()) {
		h.answer(h.heartbeat(), errors.New("connection closed"))
		h.requireAlive()
	}
	if h.lease.Overdue() {
		t.Fatal("overdue before StopBy")
	}
	h.clk.Advance(h.lease.StopBy().Sub(h.clk.Now()))
	h.requireLost(ErrLeaseDeadline)
	if !h.lease.Overdue() {
		t.Fatal("not overdue at StopBy")
	}
}

func TestLeaseRenewalCountsFromSendTime(t *testing.T) {
	h := newLeaseHarness(t, func() Budget { return fastBudget })
	answer := h.heartbeat()
	sent := h.clk.Now()
	// The answer comes a long second later; the lease counts from the send.
	h.clk.Advance(time.Second)
	h.answer(answer, nil)
	if got, want := h.lease.StopBy(), sent.Add(fastBudget.StopAfter()); !got.Equal(want) {
		t.Fatalf("StopBy = %v, want %v (send time + StopAfter)", got, want)
	}
}

func TestLeaseEndsAtOnceOnFatalAnswers(t *testing.T) {
	for _, fatal := range []error{ErrNodeGone, ErrNotOwner, ErrSessionExpired, ErrSessionReplaced} {
		t.Run(fatal.Error(), func(t *testing.T) {
			h := newLeaseHarness(t, func() Budget { return fastBudget })
			h.answer(h.heartbeat(), fatal)
			h.requireLost(fatal)
		})
	}
}

func TestLeaseEndsAtOnceOnLossEvent(t *testing.T) {
	h := newLeaseHarness(t, func() Budget { return fastBudget })
	h.loss <- ErrSessionExpired
	h.requireLost(ErrSessionExpired)
}

func TestLeaseFollowsShrinkingNegotiatedTimeout(t *testing.T) {
	b := make(chan Budget, 1)
	current := fastBudget
	h := newLeaseHarness(t, func() Budget {
		select {
		case current = <-b:
		default:
		}
		return current
	})
	before := h.lease.StopBy()
	shorter := fastBudget
	shorter.SessionTimeout = 5 * time.Second
	b <- shorter
	after := h.lease.StopBy()
	if want := before.Add(-time.Duration(0.99 * float64(time.Second))); !after.Equal(want) {
		t.Fatalf("StopBy after shrink = %v, want %v", after, want)
	}
}

// A shorter negotiated timeout (a reconnect to a server that grants less)
// moves the deadline at once: when the new StopBy is already past, the lease
// ends without waiting for the next renewal or the old deadline, and the
// freeze guard is told to move its timer (moved).
func TestLeaseShorterTimeoutMovesTheDeadlineAtOnce(t *testing.T) {
	b := make(chan Budget, 1)
	current := fastBudget
	h := newLeaseHarness(t, func() Budget {
		select {
		case current = <-b:
		default:
		}
		return current
	})
	h.clk.Advance(2 * time.Second) // no renewal answered: 2 s since t_s
	h.requireAlive()
	shorter := fastBudget
	shorter.SessionTimeout = 4 * time.Second // StopAfter 4*0.99 - 1.5*1.01*... < 2 s
	b <- shorter
	if left := h.lease.StopBy().Sub(h.clk.Now()); left >= 0 {
		t.Fatalf("test setup: the shorter budget leaves %v, want a deadline already past", left)
	}
	h.shrunk <- struct{}{}
	select {
	case <-h.moved:
	case <-time.After(5 * time.Second):
		t.Fatal("a shorter timeout did not report the deadlines moved")
	}
	h.requireLost(ErrLeaseDeadline)
}

// Every successful renewal reports that the deadlines moved, so the kernel
// timer follows the lease.
func TestLeaseRenewalReportsMoved(t *testing.T) {
	h := newLeaseHarness(t, func() Budget { return fastBudget })
	h.answer(h.heartbeat(), nil)
	select {
	case <-h.moved:
	case <-time.After(5 * time.Second):
		t.Fatal("no moved after a renewal")
	}
	h.answer(h.heartbeat(), errors.New("connection closed"))
	select {
	case <-h.moved:
		t.Fatal("moved after a failed renewal")
	default:
	}
}

func TestNewLeaseRefusesAnUnsafeBudget(t *testing.T) {
	needZK(t)
	s := dial(t, server.Addr(), 4*time.Second)
	h, err := s.Acquire(context.Background(), AcquireOptions{Path: lockPath(t)})
	if err != nil {
		t.Fatal(err)
	}
	// K of 3 s leaves nothing of a 4 s session.
	b := Budget{TickTime: 200 * time.Millisecond, SyncLimit: 2, Heartbeat: 200 * time.Millisecond, ClockDrift: 0.01, StopTime: 3 * time.Second}
	if l, err := s.NewLease(h, LeaseOptions{Budget: b, Clock: realClock(), Start: h.Confirmed}); !errors.Is(err, ErrUnsafeBudget) {
		if l != nil {
			l.stop()
		}
		t.Fatalf("NewLease = %v, want ErrUnsafeBudget", err)
	}
	if err := s.deleteNode(h.Node); err != nil {
		t.Fatal(err)
	}
}
