package runner

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/zkfence/zkfence/internal/clock"
	"github.com/zkfence/zkfence/internal/zkserver"
	"github.com/zkfence/zkfence/lock"
)

// onDuringOff is a fencer whose Off, once the node is off, lets the fenced
// holder go on: hook runs what the holder does meanwhile (its own unfence,
// action=on, landing after the off, and its fence state write).
type onDuringOff struct {
	ev   *events
	hook func()
}

func (f *onDuringOff) Off(_ context.Context, id string) error {
	f.ev.add("fence off " + id)
	if h := f.hook; h != nil {
		f.hook = nil
		h()
	}
	return nil
}

func (f *onDuringOff) Unfence(_ context.Context, id string) error {
	f.ev.add("unfence " + id)
	return nil
}

// Review 5: with an agent that fences at the storage (fence_scsi,
// fence_mpath), "off" only removes the holder's key; the holder's node
// runs on, and its own unfence (action=on, which takeOver runs under the
// lock) registers the key again whenever it completes. The first waiter
// fences the holder and only THEN reads the fence state to decide whether
// the holder had recorded itself: a holder that records itself (and whose
// action=on lands) after the off is taken for "recorded, and confirmed
// off", FencedBy is written, and the next holder neither fences it again
// nor waits: the holder, unfenced after the off, goes on to attach, fsck,
// mount and write its record until its lease sees its lock node gone,
// beside the new holder.
//
//  1. B holds (token tB) and is in its takeover (dealing with its
//     predecessor, or already writing itself in and unfencing), its
//     container frozen with its action=on in flight.
//  2. C, B's first waiter: probes fail; Off(node-b) is confirmed.
//  3. B thaws: its action=on lands (key registered again), and its fence
//     state {tB} is (or was already) written.
//  4. C reads the state: tB == B's node, so {tB, FencedBy node-c}; deletes
//     B's node.
//  5. C holds; takeOver reads FencedBy: no fence, no lock-delay; C mounts
//     and starts its child while B, unfenced, writes until it notices.
//
// The waiter must decide "recorded" from a read made BEFORE its off (and
// the holder must unfence before it records itself): then a holder seen
// recorded had unfenced before the off, and one that records itself later
// is fenced again by the next holder, after its action=on.
func TestFastTakeoverHolderUnfencedAfterTheOffIsFencedAgain(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no ZooKeeper")
	}
	srv := zkserver.Start(t, zkserver.Options{TickTime: 200 * time.Millisecond})
	p := "/review/unfenced-after-off"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	b := dialZK(t, srv.Addr())
	bHolder := lock.Holder{Host: "b", FenceID: "node-b", HTTP: "127.0.0.1:1"}
	heldB, err := b.Acquire(ctx, lock.AcquireOptions{Path: p, Data: bHolder.Encode()})
	if err != nil {
		t.Fatal(err)
	}

	c := dialZK(t, srv.Addr())
	ev := &events{}
	fencer := &onDuringOff{ev: ev}
	fencer.hook = func() { // B thaws after the off: its action=on lands, its state is written
		ev.add("B: unfence node-b")
		if _, err := b.WriteFenceState(ctx, p, heldB.Node, lock.VersionedFenceState{Version: -1},
			lock.FenceState{Service: p, Token: heldB.Token, Holder: bHolder.String(), FenceID: "node-b",
				Updated: time.Now(), Takeover: "first"}); err != nil {
			t.Errorf("B's fence state: %v", err)
		}
	}
	clk := clock.NewFake(time.Now())
	cfg := Config{LockPath: p, Fencer: fencer, FenceID: "node-c", Clock: clk,
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

	// C now holds the lock and takes over as run.takeOver does.
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
	if _, err := r.dealWithPrevious(ctx, prev); err != nil {
		t.Fatalf("dealWithPrevious: %v", err)
	}
	got := ev.list()
	unfenced, offAfter := -1, false
	for i, e := range got {
		switch {
		case e == "B: unfence node-b":
			unfenced = i
		case e == "fence off node-b" && unfenced >= 0 && i > unfenced:
			offAfter = true
		}
	}
	if !offAfter {
		t.Fatalf("B registered its key again after the waiter's off, yet the new holder takes it for confirmed off "+
			"(state %+v, r.fenced %v): fence actions %v", prev.FenceState, r.fenced, got)
	}
}
