package lock

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zkfence/zkfence/internal/clock"
	"github.com/zkfence/zkfence/internal/zkserver"
)

func realClock() clock.Clock { return clock.Real{} }

func TestLeaseEndsWhenTheNodeIsDeleted(t *testing.T) {
	needZK(t)
	p := lockPath(t)
	s := dial(t, server.Addr(), 4*time.Second)
	h, err := s.Acquire(context.Background(), AcquireOptions{Path: p})
	if err != nil {
		t.Fatal(err)
	}
	l := s.NewLease(h, Budget{TickTime: 200 * time.Millisecond, SyncLimit: 2, Heartbeat: 200 * time.Millisecond, ClockDrift: 0.01, StopTime: 500 * time.Millisecond}, realClock(), h.Confirmed, nil)
	defer l.stop()
	other := dial(t, server.Addr(), 4*time.Second)
	if err := other.conn.Delete(h.Node, -1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.Lost():
	case <-time.After(5 * time.Second):
		t.Fatal("lease not lost after its node was deleted")
	}
	if !errors.Is(l.Err(), ErrNodeGone) {
		t.Fatalf("lost with %v, want ErrNodeGone", l.Err())
	}
}

func TestNegotiatedTimeoutBelowRequested(t *testing.T) {
	needZK(t)
	capped := zkserver.Start(t, zkserver.Options{TickTime: 200 * time.Millisecond, MaxSessionTimeout: 4 * time.Second})
	s := dial(t, capped.Addr(), 10*time.Second)
	if got := s.NegotiatedTimeout(); got != 4*time.Second {
		t.Fatalf("negotiated %v, want the server's cap 4s", got)
	}
	// The lease uses the negotiated value, not the requested one.
	p := lockPath(t)
	h, err := s.Acquire(context.Background(), AcquireOptions{Path: p})
	if err != nil {
		t.Fatal(err)
	}
	b := Budget{SessionTimeout: 10 * time.Second, TickTime: 200 * time.Millisecond, SyncLimit: 2, Heartbeat: 200 * time.Millisecond, ClockDrift: 0.01, StopTime: 500 * time.Millisecond}
	l := s.NewLease(h, b, realClock(), h.Confirmed, nil)
	want := b
	want.SessionTimeout = 4 * time.Second
	if got := l.KillBy().Sub(l.StopBy()) + l.StopBy().Sub(h.Confirmed); got > want.KillBy()+time.Second {
		t.Fatalf("lease budget %v, want about %v (negotiated 4s), not the requested 10s", got, want.KillBy())
	}
	if err := s.Release(context.Background(), l); err != nil {
		t.Fatal(err)
	}
}

func TestLeaseEndsBeforeTheSessionExpiresWhenCutOff(t *testing.T) {
	needZK(t)
	p := lockPath(t)
	proxy := zkserver.NewProxy(t, server.Addr())
	s := dial(t, proxy.Addr(), 4*time.Second)
	h, err := s.Acquire(context.Background(), AcquireOptions{Path: p})
	if err != nil {
		t.Fatal(err)
	}
	b := Budget{TickTime: 200 * time.Millisecond, SyncLimit: 2, Heartbeat: 200 * time.Millisecond, ClockDrift: 0.01, StopTime: 300 * time.Millisecond}
	l := s.NewLease(h, b, realClock(), h.Confirmed, nil)
	defer l.stop()
	time.Sleep(600 * time.Millisecond) // a few renewals
	proxy.Blackhole()
	cut := time.Now()
	other := dial(t, server.Addr(), 4*time.Second)
	granted := acquireAsync(context.Background(), other, AcquireOptions{Path: p})
	select {
	case <-l.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("lease not lost while cut off")
	}
	lost := time.Now()
	if !errors.Is(l.Err(), ErrLeaseDeadline) {
		t.Fatalf("lost with %v, want ErrLeaseDeadline", l.Err())
	}
	r := waitResult(t, granted)
	if r.err != nil {
		t.Fatal(r.err)
	}
	grant := time.Now()
	if !lost.Before(grant) {
		t.Fatalf("lease lost %v after the cut, but the contender was granted the lock %v after it", lost.Sub(cut), grant.Sub(cut))
	}
	t.Logf("cut -> lease lost %v; cut -> contender granted %v", lost.Sub(cut), grant.Sub(cut))
	other.deleteNode(r.held.Node)
}
