package lock

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// TestFenceStateWriteNeedsOurLockNode: a holder whose lock node is gone (a
// fast-takeover waiter fenced it and deleted the node, or an operator did)
// must not record itself in the fence state: it would then go on to attach,
// fsck and mount until its next lease check, after a waiter could hold the
// lock. Found by the fourth adversarial review of the fencing issue.
func TestFenceStateWriteNeedsOurLockNode(t *testing.T) {
	ctx, p, a, held := holdForFenceState(t)
	st := FenceState{Service: p, Token: held.Token, Holder: "a", Updated: time.Now().UTC()}
	created, err := a.WriteFenceState(ctx, p, held.Node, VersionedFenceState{Version: -1}, st)
	if err != nil || created.Version != 0 {
		t.Fatalf("create with our node present: %+v, %v", created, err)
	}
	st.Takeover = "first"
	set, err := a.WriteFenceState(ctx, p, held.Node, created, st)
	if err != nil || set.Version != 1 {
		t.Fatalf("set with our node present: %+v, %v", set, err)
	}
	if _, err := a.WriteFenceState(ctx, p, held.Node, created, st); !errors.Is(err, ErrFenceStateChanged) {
		t.Fatalf("write over a stale version: %v, want ErrFenceStateChanged", err)
	}

	b := dial(t, server.Addr(), 10*time.Second)
	if err := b.conn.Delete(held.Node, -1); err != nil {
		t.Fatal(err)
	}
	released := st
	released.Released = true
	if _, err := a.WriteFenceState(ctx, p, held.Node, set, released); !errors.Is(err, ErrLockNodeGone) {
		t.Fatalf("write after our node was deleted: %v, want ErrLockNodeGone", err)
	}
	now, err := b.ReadFenceState(p)
	if err != nil || now.Version != set.Version || now.Released {
		t.Fatalf("the state changed without our node: %+v, %v", now, err)
	}
	// A first waiter's write (no lock node of its own to check) still works.
	st.FencedBy = "node-b"
	if _, err := b.WriteFenceState(ctx, p, "", now, st); err != nil {
		t.Fatalf("waiter's write: %v", err)
	}
	if err := b.conn.Delete(FenceStatePath(p), -1); err != nil {
		t.Fatal(err)
	}
}

// TestFenceStateCreateNeedsOurLockNode: the same for the first write of a
// new lock path (a create, not a set).
func TestFenceStateCreateNeedsOurLockNode(t *testing.T) {
	ctx, p, a, held := holdForFenceState(t)
	if err := a.conn.Delete(held.Node, -1); err != nil {
		t.Fatal(err)
	}
	st := FenceState{Service: p, Token: held.Token, Holder: "a", Updated: time.Now().UTC()}
	if _, err := a.WriteFenceState(ctx, p, held.Node, VersionedFenceState{Version: -1}, st); !errors.Is(err, ErrLockNodeGone) {
		t.Fatalf("create after our node was deleted: %v, want ErrLockNodeGone", err)
	}
	if now, err := a.ReadFenceState(p); err != nil || now.Found() {
		t.Fatalf("a fence state was created without our node: %+v, %v", now, err)
	}
}

// lostMultiConn applies a multi, runs meanwhile (the answer is on its way
// back), then loses the answer as a cut connection does.
type lostMultiConn struct {
	zkConn
	meanwhile func()
	lost      bool
}

func (c *lostMultiConn) Multi(ops ...interface{}) ([]zk.MultiResponse, error) {
	res, err := c.zkConn.Multi(ops...)
	if c.lost || c.meanwhile == nil {
		return res, err
	}
	c.lost = true
	c.meanwhile()
	return nil, zk.ErrConnectionClosed
}

// TestFenceStateLostAnswerNeedsOurLockNode: a holder's write is applied
// while its node exists, and its answer is lost with the connection; before
// the holder looks again, the first waiter (fast takeover) reads the state
// naming it, fences it, records FencedBy and deletes its lock node, and can
// hold the lock. The retry path must not report the write as ours and
// successful (the holder would go on to attach, fsck and mount until its
// next lease check): it is what the multi refuses.
func TestFenceStateLostAnswerNeedsOurLockNode(t *testing.T) {
	needZK(t)
	for _, fencedBy := range []bool{true, false} {
		t.Run(fmt.Sprintf("fenced_by=%v", fencedBy), func(t *testing.T) {
			ctx, p, a, held := holdForFenceState(t)
			b := dial(t, server.Addr(), 10*time.Second)
			defer b.conn.Delete(FenceStatePath(p), -1)
			c := &lostMultiConn{zkConn: a.conn}
			c.meanwhile = func() { // the waiter B, between A's applied write and A's look
				now, err := b.ReadFenceState(p)
				if err != nil || now.Token != held.Token {
					t.Errorf("B reads %+v, %v", now, err)
					return
				}
				if fencedBy {
					st := now.FenceState
					st.FencedBy = "node-b"
					if _, err := b.WriteFenceState(ctx, p, "", now, st); err != nil {
						t.Errorf("B's FencedBy: %v", err)
					}
				}
				if err := b.conn.Delete(held.Node, -1); err != nil {
					t.Errorf("B deletes A's node: %v", err)
				}
			}
			a.conn = c
			st := FenceState{Service: p, Token: held.Token, Holder: "a", FenceID: "node-a", Updated: time.Now().UTC()}
			got, err := a.WriteFenceState(ctx, p, held.Node, VersionedFenceState{Version: -1}, st)
			if !errors.Is(err, ErrLockNodeGone) && !errors.Is(err, ErrFenceStateChanged) {
				t.Fatalf("A's write after its node was deleted and it was fenced = %+v, %v; want ErrLockNodeGone or ErrFenceStateChanged", got, err)
			}
		})
	}
}

// TestFenceStateLostAnswerWaiterWriteIsRetried: the first waiter's FencedBy
// write whose answer is lost, not applied, finds the holder's own state
// unchanged (same token, holder, released): that is not its write, which is
// tried again.
func TestFenceStateLostAnswerWaiterWriteIsRetried(t *testing.T) {
	needZK(t)
	ctx, p, a, held := holdForFenceState(t)
	b := dial(t, server.Addr(), 10*time.Second)
	defer a.deleteNode(held.Node)
	defer b.conn.Delete(FenceStatePath(p), -1)
	own, err := a.WriteFenceState(ctx, p, held.Node, VersionedFenceState{Version: -1},
		FenceState{Service: p, Token: held.Token, Holder: "a", FenceID: "node-a", Updated: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	b.conn = &notSentMultiConn{zkConn: b.conn}
	st := own.FenceState
	st.FencedBy = "node-b"
	if _, err := b.WriteFenceState(ctx, p, "", own, st); err != nil {
		t.Fatalf("B's FencedBy write: %v", err)
	}
	if now, err := a.ReadFenceState(p); err != nil || now.FencedBy != "node-b" {
		t.Fatalf("B's write reported done, the state is %+v, %v; want FencedBy node-b", now, err)
	}
}

// notSentMultiConn loses its first multi before the server sees it.
type notSentMultiConn struct {
	zkConn
	lost bool
}

func (c *notSentMultiConn) Multi(ops ...interface{}) ([]zk.MultiResponse, error) {
	if !c.lost {
		c.lost = true
		return nil, zk.ErrConnectionClosed
	}
	return c.zkConn.Multi(ops...)
}

// TestFenceStateMultiErrorsClassified: each way a holder's multi fails is
// told apart from the others, against the server's own per-op answers.
func TestFenceStateMultiErrorsClassified(t *testing.T) {
	needZK(t)
	p := lockPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := dial(t, server.Addr(), 10*time.Second)
	held, err := a.Acquire(ctx, AcquireOptions{Path: p})
	if err != nil {
		t.Fatal(err)
	}
	defer a.deleteNode(held.Node)
	st := FenceState{Service: p, Token: held.Token, Holder: "a", Updated: time.Now().UTC()}
	other := FenceState{Service: p, Token: held.Token, Holder: "other", Updated: time.Now().UTC()}
	// Created meanwhile by another writer: our create fails.
	if _, err := a.WriteFenceState(ctx, p, "", VersionedFenceState{Version: -1}, other); err != nil {
		t.Fatal(err)
	}
	if _, err := a.WriteFenceState(ctx, p, held.Node, VersionedFenceState{Version: -1}, st); !errors.Is(err, ErrFenceStateChanged) || errors.Is(err, ErrLockNodeGone) {
		t.Fatalf("create over a state created meanwhile: %v, want ErrFenceStateChanged only", err)
	}
	// Deleted meanwhile: our set fails.
	if err := a.conn.Delete(FenceStatePath(p), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := a.WriteFenceState(ctx, p, held.Node, VersionedFenceState{FenceState: other, Version: 0}, st); !errors.Is(err, ErrFenceStateChanged) || errors.Is(err, ErrLockNodeGone) {
		t.Fatalf("set of a state deleted meanwhile: %v, want ErrFenceStateChanged only", err)
	}
	// Our node gone and the state changed too: the node is what counts.
	if _, err := a.WriteFenceState(ctx, p, "", VersionedFenceState{Version: -1}, other); err != nil {
		t.Fatal(err)
	}
	if err := a.conn.Delete(held.Node, -1); err != nil {
		t.Fatal(err)
	}
	if _, err := a.WriteFenceState(ctx, p, held.Node, VersionedFenceState{Version: -1}, st); !errors.Is(err, ErrLockNodeGone) {
		t.Fatalf("our node gone and the state created meanwhile: %v, want ErrLockNodeGone", err)
	}
	if now, err := a.ReadFenceState(p); err != nil || now.Holder != "other" || now.Version != 0 {
		t.Fatalf("state after the refused writes: %+v, %v", now, err)
	}
	a.conn.Delete(FenceStatePath(p), -1)
}

// holdForFenceState takes a lock of the test's own on the shared server.
func holdForFenceState(t *testing.T) (context.Context, string, *Session, Held) {
	t.Helper()
	needZK(t)
	p := lockPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	a := dial(t, server.Addr(), 10*time.Second)
	held, err := a.Acquire(ctx, AcquireOptions{Path: p})
	if err != nil {
		t.Fatal(err)
	}
	return ctx, p, a, held
}
