package lock

import (
	"context"
	"errors"
	"io"
	"net"
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
	l := newLease(t, s, h, Budget{TickTime: 200 * time.Millisecond, SyncLimit: 2, Heartbeat: 200 * time.Millisecond, ClockDrift: 0.01, StopTime: 500 * time.Millisecond})
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
	l := newLease(t, s, h, b)
	want := b
	want.SessionTimeout = 4 * time.Second
	if got := l.KillBy().Sub(l.StopBy()) + l.StopBy().Sub(h.Confirmed); got > want.KillAfter()+time.Second {
		t.Fatalf("lease budget %v, want about %v (negotiated 4s), not the requested 10s", got, want.KillAfter())
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
	l := newLease(t, s, h, b)
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

func TestAStalledHandshakeIsRetried(t *testing.T) {
	needZK(t)
	// A listener whose first connection is accepted and never answered, like
	// a server that accepts before it serves; later ones reach ZooKeeper.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	stalled := make(chan net.Conn, 1)
	defer func() {
		select {
		case c := <-stalled:
			c.Close()
		default:
		}
	}()
	go func() {
		for n := 0; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if n == 0 {
				stalled <- c
				continue
			}
			go forward(c, server.Addr())
		}
	}()
	start := time.Now()
	// With a 30s session go-zookeeper alone would wait 200s for the answer.
	s := dial(t, ln.Addr().String(), 30*time.Second)
	took := time.Since(start)
	if took > 15*time.Second || took < handshakeTimeout {
		t.Fatalf("session after %v, want just after the %v handshake timeout", took, handshakeTimeout)
	}
	if s.NegotiatedTimeout() == 0 {
		t.Fatal("no negotiated timeout")
	}
}

// forward copies bytes between c and a new connection to target.
func forward(c net.Conn, target string) {
	defer c.Close()
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer up.Close()
	go io.Copy(up, c)
	io.Copy(c, up)
}

// newLease starts a lease on the real clock, failing the test if the budget
// is refused.
func newLease(t *testing.T, s *Session, h Held, b Budget) *Lease {
	t.Helper()
	l, err := s.NewLease(h, LeaseOptions{Budget: b, Clock: realClock(), Start: h.Confirmed})
	if err != nil {
		t.Fatal(err)
	}
	return l
}
