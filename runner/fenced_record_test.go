package runner

import (
	"testing"
	"time"

	"github.com/zkfence/zkfence/fence"
	"github.com/zkfence/zkfence/lock"
)

// Review of issues 17/21: a confirmed fence skips the lock-delay on the
// volume (storage.go: c.LockDelay = 0) whatever holder the volume's record
// names. It must skip it only for the holder that was confirmed off.
//
//  1. A (token 40) holds and beats on the volume; its lease ends but its
//     heartbeat stays fresh (it runs on: its fence failed, FENCING FAILED).
//  2. B (token 41) waits out the ZooKeeper-side lock-delay, writes its fence
//     state, and waits in fence.Acquire on A's fresh heartbeat.
//  3. C, B's first waiter, fences B (confirmed off), writes {41, FencedBy}
//     (prev.Token == node.Token: allowed) and deletes B's node.
//  4. C holds: r.fenced, lock-delay 0; fence.Acquire sees A's record with a
//     heartbeat of now and writes over it at once: C's child starts beside
//     A, which nobody confirmed off.
func TestFencedHolderSkipsOnlyItsOwnRecordsLockDelay(t *testing.T) {
	h := newHarness(t)
	root := t.TempDir()
	h.withStorage().roots = []string{root}
	h.cfg.Fence = &FenceConfig{LockDelay: 5 * time.Second}
	h.withFencer("node-c")
	h.stopAfter, h.killAfter = time.Minute, time.Minute+4*time.Second
	h.hold.state = lock.VersionedFenceState{FenceState: lock.FenceState{Service: "/svc", Token: 41, FenceID: "node-b",
		Takeover: "FENCING FAILED, waited lock-delay", FencedBy: "node-c"}, Version: 3}
	if err := fence.Write(root, fence.Record{Service: "/svc", Token: 40, Holder: "a", Heartbeat: h.clk.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	out := h.run()
	h.waitEvent("storage prepare")
	time.Sleep(200 * time.Millisecond)
	for _, e := range h.ev.list() {
		if e == "child started" {
			t.Fatalf("child started at once over the fresh heartbeat of holder 40, which was never confirmed off; events %v", h.ev.list())
		}
	}
	h.waitTimers(2) // the lease follower and the volume's lock-delay
	h.clk.Advance(5 * time.Second)
	h.waitStarted()
	h.child.exit(0)
	select {
	case err := <-out:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the run did not end; events %v", h.ev.list())
	}
}

// The record of the holder that was confirmed off needs no lock-delay.
func TestFencedHoldersOwnRecordNeedsNoLockDelay(t *testing.T) {
	h := newHarness(t)
	root := t.TempDir()
	h.withStorage().roots = []string{root}
	h.cfg.Fence = &FenceConfig{LockDelay: time.Hour}
	h.withFencer("node-c")
	h.hold.state = lock.VersionedFenceState{FenceState: lock.FenceState{Service: "/svc", Token: 41, FenceID: "node-b"}, Version: 3}
	if err := fence.Write(root, fence.Record{Service: "/svc", Token: 41, Holder: "b", Heartbeat: h.clk.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	out := h.run()
	h.waitStarted()
	h.child.exit(0)
	select {
	case err := <-out:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the run did not end; events %v", h.ev.list())
	}
	h.check(phase{want: []string{"fence off node-b", "fence state claimed", "storage prepare", "child started"}}, nil)
}
