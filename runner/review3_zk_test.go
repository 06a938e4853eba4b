package runner

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/zkfence/zkfence/fence"
	"github.com/zkfence/zkfence/internal/clock"
	"github.com/zkfence/zkfence/internal/zkserver"
	"github.com/zkfence/zkfence/lock"
)

// Review 3 (volume-named previous holder x fast takeover): as
// TestFastTakeoverKeepsAnUnsettledEarlierHolder, but the unsettled earlier
// holder A is named only by the volume's fence record (ZooKeeper's fence
// state was lost or deleted: the case the volume read exists for).
//
//  1. A (fence id node-a) held the lock, wrote its record on the shared
//     volume and froze mid-write; its heartbeat stopped with it. ZooKeeper's
//     <lock>.fence is gone (data lost, deleted by an operator).
//  2. B acquires; takeOver finds no fence state, reads the volume
//     (dealWithUnrecorded) and starts fencing node-a, which takes the
//     agent's time. B's node dies meanwhile: B never writes its fence
//     state, and never touched storage.
//  3. C, B's first waiter, fences node-b, reads the fence state: not found.
//     unsettled() is false for a missing state, so C writes {tB, FencedBy
//     node-c} and deletes B's node.
//  4. C holds; takeOver reads {tB, FencedBy}: r.fenced, and the volume is
//     never read early (the state was found). node-a is never fenced;
//     fence.Acquire finds A's stale heartbeat older than the lock-delay and
//     writes at once; C's child starts; A thaws and writes beside it.
func TestFastTakeoverKeepsAnUnsettledHolderNamedOnlyByTheVolume(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no ZooKeeper")
	}
	srv := zkserver.Start(t, zkserver.Options{TickTime: 200 * time.Millisecond})
	p := "/review3/volume-unsettled"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// 1. A: a real, older token; its record on the volume, heartbeat
	// stopped two hours ago (frozen); no fence state in ZooKeeper.
	a := dialZK(t, srv.Addr())
	aHolder := lock.Holder{Host: "a", PID: 7, Version: "test", FenceID: "node-a"}
	heldA, err := a.Acquire(ctx, lock.AcquireOptions{Path: p, Data: aHolder.Encode()})
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := fence.Write(root, fence.Record{Service: p, Token: heldA.Token, Holder: aHolder.String(),
		Heartbeat: time.Now().Add(-2 * time.Hour).UTC()}); err != nil {
		t.Fatal(err)
	}
	a.Close()
	if prev, err := dialZK(t, srv.Addr()).ReadFenceState(p); err != nil || prev.Found() {
		t.Fatalf("fence state %+v (%v): want none", prev, err)
	}

	// 2. B holds and (in its takeOver) is fencing node-a when its node dies.
	b := dialZK(t, srv.Addr())
	bHolder := lock.Holder{Host: "b", FenceID: "node-b", HTTP: "127.0.0.1:1"}
	heldB, err := b.Acquire(ctx, lock.AcquireOptions{Path: p, Data: bHolder.Encode()})
	if err != nil {
		t.Fatal(err)
	}

	// 3. C, B's first waiter, takes B over.
	c := dialZK(t, srv.Addr())
	ev := &events{}
	clk := clock.NewFake(time.Now())
	storage := &fakeStorage{ev: ev, lost: make(chan struct{}), lostErr: errMountGone, roots: []string{root}, readable: []string{root}}
	cfg := Config{LockPath: p, Fencer: &fakeFencer{ev: ev}, FenceID: "node-c", Clock: clk,
		FencePeers: []string{"node-a", "node-b"},
		Storage:    storage, Fence: &FenceConfig{LockDelay: time.Minute},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), FastTakeover: &FastTakeover{Probe: time.Second, After: 1}}
	name := heldB.Node[strings.LastIndex(heldB.Node, "/")+1:]
	node, err := c.ReadContender(p, name)
	if err != nil {
		t.Fatal(err)
	}
	hw := &holderWatch{sess: c, cfg: &cfg, self: lock.Holder{Host: "c", FenceID: "node-c"}, holder: name}
	if err := hw.fenceAndDelete(ctx, node, bHolder); err != nil {
		t.Fatalf("fast takeover of B: %v", err)
	}

	// 4. C holds the lock and takes over as run.takeOver does.
	heldC, err := c.Acquire(ctx, lock.AcquireOptions{Path: p, Data: lock.Holder{Host: "c", FenceID: "node-c"}.Encode()})
	if err != nil {
		t.Fatal(err)
	}
	prev, err := c.ReadFenceState(p)
	if err != nil {
		t.Fatal(err)
	}
	r := newRun(cfg, deps{})
	r.lease = tokenLease{newFakeLease(clk, time.Minute, time.Minute), heldC.Token}
	how, err := r.dealWithPrevious(ctx, prev)
	if err != nil {
		t.Fatalf("dealWithPrevious: %v", err)
	}
	var fencedA bool
	for _, e := range ev.list() {
		fencedA = fencedA || e == "fence off node-a"
	}
	if !fencedA {
		t.Fatalf("A (token %d, named by the volume's record, never released, never confirmed off) is skipped: "+
			"takeover %q, fence state %+v, fence actions %v; its heartbeat is older than the lock-delay, "+
			"so fence.Acquire writes at once and A writes again when it thaws", heldA.Token, how, prev.FenceState, ev.list())
	}
}

// Review 3, F1b: as above, but the fence state was restored from a backup
// rather than deleted: it names an older holder P, released cleanly, while
// the volume's record names A (newer than P, never released). B deals with
// A (dealWithPrevious reads the volume: A is newer than the state) when its
// node dies; C's fast takeover finds P's state released, so unsettled() is
// false, and writes {tB, FencedBy node-c} over it: the next holder sees a
// state newer than A's record, never fences A, and A's stale heartbeat
// passes the lock-delay.
func TestFastTakeoverKeepsAVolumeHolderNewerThanARestoredState(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no ZooKeeper")
	}
	srv := zkserver.Start(t, zkserver.Options{TickTime: 200 * time.Millisecond})
	p := "/review3/volume-restored"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// P's released state (as restored), then A's record on the volume.
	pSess := dialZK(t, srv.Addr())
	heldP, err := pSess.Acquire(ctx, lock.AcquireOptions{Path: p, Data: lock.Holder{Host: "p", FenceID: "node-p"}.Encode()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pSess.WriteFenceState(ctx, p, heldP.Node, lock.VersionedFenceState{Version: -1},
		lock.FenceState{Service: p, Token: heldP.Token, Holder: "p", FenceID: "node-p", Released: true, Updated: time.Now()}); err != nil {
		t.Fatal(err)
	}
	pSess.Close()
	a := dialZK(t, srv.Addr())
	aHolder := lock.Holder{Host: "a", PID: 7, Version: "test", FenceID: "node-a"}
	heldA, err := a.Acquire(ctx, lock.AcquireOptions{Path: p, Data: aHolder.Encode()})
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := fence.Write(root, fence.Record{Service: p, Token: heldA.Token, Holder: aHolder.String(),
		Heartbeat: time.Now().Add(-2 * time.Hour).UTC()}); err != nil {
		t.Fatal(err)
	}
	a.Close() // A's own state write was lost with ZooKeeper's data

	b := dialZK(t, srv.Addr())
	bHolder := lock.Holder{Host: "b", FenceID: "node-b", HTTP: "127.0.0.1:1"}
	heldB, err := b.Acquire(ctx, lock.AcquireOptions{Path: p, Data: bHolder.Encode()})
	if err != nil {
		t.Fatal(err)
	}

	c := dialZK(t, srv.Addr())
	ev := &events{}
	clk := clock.NewFake(time.Now())
	storage := &fakeStorage{ev: ev, lost: make(chan struct{}), lostErr: errMountGone, roots: []string{root}, readable: []string{root}}
	cfg := Config{LockPath: p, Fencer: &fakeFencer{ev: ev}, FenceID: "node-c", Clock: clk,
		FencePeers: []string{"node-a", "node-b"},
		Storage:    storage, Fence: &FenceConfig{LockDelay: time.Minute},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), FastTakeover: &FastTakeover{Probe: time.Second, After: 1}}
	name := heldB.Node[strings.LastIndex(heldB.Node, "/")+1:]
	node, err := c.ReadContender(p, name)
	if err != nil {
		t.Fatal(err)
	}
	hw := &holderWatch{sess: c, cfg: &cfg, self: lock.Holder{Host: "c", FenceID: "node-c"}, holder: name}
	if err := hw.fenceAndDelete(ctx, node, bHolder); err != nil {
		t.Fatalf("fast takeover of B: %v", err)
	}
	heldC, err := c.Acquire(ctx, lock.AcquireOptions{Path: p, Data: lock.Holder{Host: "c", FenceID: "node-c"}.Encode()})
	if err != nil {
		t.Fatal(err)
	}
	prev, err := c.ReadFenceState(p)
	if err != nil {
		t.Fatal(err)
	}
	r := newRun(cfg, deps{})
	r.lease = tokenLease{newFakeLease(clk, time.Minute, time.Minute), heldC.Token}
	how, err := r.dealWithPrevious(ctx, prev)
	if err != nil {
		t.Fatalf("dealWithPrevious: %v", err)
	}
	var fencedA bool
	for _, e := range ev.list() {
		fencedA = fencedA || e == "fence off node-a"
	}
	if !fencedA {
		t.Fatalf("A (token %d, named by the volume's record, newer than the restored state's %d) is skipped: "+
			"takeover %q, fence state %+v, fence actions %v", heldA.Token, heldP.Token, how, prev.FenceState, ev.list())
	}
}
