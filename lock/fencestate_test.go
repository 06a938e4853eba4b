package lock

import (
	"context"
	"errors"
	"testing"
	"time"
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
