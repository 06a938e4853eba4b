package runner

import (
	"testing"
	"time"

	"github.com/zkfence/zkfence/fence"
	"github.com/zkfence/zkfence/lock"
)

// Review 4, F1: an early read that times out counts as a failed fence only
// when NO readable volume names a holder (dealWithUnrecorded) and never when
// ZooKeeper's fence state names one (dealWithPrevious drops unread). So one
// volume that answers and names a holder that is fenced (or a fence state
// that is released or FencedBy) hides the stalled volume: no lock-delay from
// now, no refusal with --fence-required, and when the stalled volume
// answers again before the storage checks, fence.Acquire finds the frozen
// holder's stale heartbeat there and writes at once.
//
// With no fence state in ZooKeeper (deleted, lost):
//  1. V (node-a, token 40) held both volumes, then U (node-u, token 41)
//     took over from it, wrote its record on B, and froze (VM pause)
//     together with B's FUSE daemon before it reached A. A still names V.
//  2. W (token 42): the early read of A names V, unreleased: fenced,
//     confirmed. The early read of B times out: dropped, because a holder
//     was found.
//  3. B answers again. fence.Acquire on B: U's heartbeat is older than the
//     lock-delay: W writes, its child starts; U, never fenced, thaws and
//     writes beside it.
//
// With a fence state restored from a backup (released, token 30), and B
// the only volume: dealWithPrevious reads B, the read times out, unread is
// dropped, "released": the same end, with nothing fenced at all.
func TestVolumeReadTimeoutIsAFailedFenceBesideOtherHolders(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: waits out fence.DefaultIOTimeout")
	}
	for _, c := range []struct {
		name  string
		state lock.VersionedFenceState
		other bool // a second, answering volume names V (node-a, 40)
	}{
		{name: "no fence state, another volume names a holder that is fenced", state: lock.VersionedFenceState{Version: -1},
			other: true},
		{name: "fence state restored from a backup, released", state: lock.VersionedFenceState{FenceState: lock.FenceState{
			Service: "/svc", Token: 30, Holder: volumeHolder("node-p"), FenceID: "node-p", Released: true}, Version: 3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.stopAfter, h.killAfter = 2*time.Hour, 2*time.Hour+4*time.Second
			stale := h.clk.Now().Add(-2 * time.Hour).UTC()
			fuse := stalledVolume(t)
			writeRecord(t, fuse.Src, fence.Record{Service: "/svc", Token: 41, Holder: volumeHolder("node-u"), Heartbeat: stale})
			roots := []string{fuse.Mnt}
			if c.other {
				a := t.TempDir()
				writeRecord(t, a, fence.Record{Service: "/svc", Token: 40, Holder: volumeHolder("node-a"), Heartbeat: stale})
				roots = []string{a, fuse.Mnt}
			}
			s := h.withStorage()
			s.roots, s.readable = roots, roots
			h.hold.state = c.state
			h.cfg.Fence = &FenceConfig{LockDelay: time.Hour}
			h.withFencer("node-b")
			h.cfg.FencePeers = []string{"node-a", "node-u"}
			stalledReadIsAFailedFence(t, h, fuse, "node-u")
		})
	}
}

// Review 4, F2: Claim.Fenced (the token of the holder ZooKeeper's state
// names, confirmed off) lifts the lock-delay of every record with that
// token, whatever service it belongs to. With --take-over-volume, a volume
// of another service (another lock path, guarded by another ensemble,
// whose zxids, the tokens, are counted apart from ours) whose holder has
// the same token as our fenced previous holder is written at once, over a
// fresh heartbeat of a holder that nobody fenced.
//
//  1. Our service /svc: node-a (token 41) held it, did not release.
//  2. Service /other, on another ensemble: node-z (token 41 there) holds
//     the volume, its heartbeat fresh.
//  3. B (token 42 on our ensemble, --take-over-volume): fences node-a,
//     confirmed: c.Fenced = 41. fence.Acquire on the volume: another
//     service's record, taken over; token 41 == c.Fenced: no lock-delay.
//     B's child starts beside node-z's.
func TestFencedTokenDoesNotVouchForAnotherServicesRecord(t *testing.T) {
	h := newHarness(t)
	h.stopAfter, h.killAfter = 2*time.Hour, 2*time.Hour+4*time.Second
	root := t.TempDir()
	s := h.withStorage()
	s.roots = []string{root} // a device: not readable before Prepare
	h.cfg.Fence = &FenceConfig{LockDelay: time.Hour, TakeOver: true}
	h.withFencer("node-b")
	h.hold.state = lock.VersionedFenceState{FenceState: lock.FenceState{Service: "/svc", Token: 41,
		Holder: volumeHolder("node-a"), FenceID: "node-a"}, Version: 3}
	writeRecord(t, root, fence.Record{Service: "/other", Token: 41, Holder: volumeHolder("node-z"),
		Heartbeat: h.clk.Now().UTC()})
	out := h.run()
	h.waitEvent("storage prepare")
	time.Sleep(200 * time.Millisecond)
	for _, e := range h.ev.list() {
		if e == "child started" {
			t.Fatalf("the child started at once over the fresh heartbeat of another service's holder (node-z), "+
				"because its token equals that of our fenced node-a; events %v", h.ev.list())
		}
	}
	h.waitTimers(2) // the lease follower and the lock-delay on node-z's record
	h.clk.Advance(time.Hour)
	h.waitStarted()
	h.child.exit(0)
	if err := h.awaitRun(out, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

// Review 4, F3: when a volume's record names a holder newer than the one
// ZooKeeper's fence state names, dealWithPrevious deals with the volume's
// holders INSTEAD of the state's, on the ground that the newer one dealt
// with it before touching storage. That holds only for a record a holder
// wrote. A record planted by a tenant who can write one volume's record
// as zkfence's user (the threat of review 3, F2 and F5, and of
// --fence-peers) with a token just above the state's and no fence id (or
// this node's own, or an off node's listed in --fence-peers) makes the run
// fence nobody, not even the holder that ZooKeeper, which the tenant
// cannot write, names as unreleased; --fence-required does not refuse.
//
//  1. A (node-a, token 40) holds volumes V1 and V2; it writes its state
//     in ZooKeeper ({40, not released}) and its records, then freezes (VM
//     pause): its heartbeat stops.
//  2. The tenant rewrites V1's record: token 41 (tokens are czxids: A's
//     token + 1 is below any later holder's, whose lock node is created
//     after A's state write), no fence id, an old heartbeat.
//  3. B (token 42, --fence-required): the state names A, unreleased; V1's
//     record is newer: dealWithVolumeHolders([planted]): "without a fence
//     id", nothing fenced, no lock-delay. fence.Acquire on V2 finds A's
//     heartbeat older than the lock-delay: B writes, its child starts; A,
//     never fenced, thaws and writes beside it.
func TestPlantedNewerRecordDoesNotSuppressTheStatesHolder(t *testing.T) {
	for _, c := range []struct{ name, holder string }{
		{"planted record without a fence id", `{"host":"old-zkfence","pid":1}`},
		{"planted record with our own fence id", volumeHolder("node-b")},
		{"planted record naming a listed node that is already off", volumeHolder("node-x")},
	} {
		plantedHolder := c.holder
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.stopAfter, h.killAfter = 2*time.Hour, 2*time.Hour+4*time.Second
			planted, real := t.TempDir(), t.TempDir()
			s := h.withStorage()
			s.roots, s.readable = []string{planted, real}, []string{planted, real}
			h.cfg.Fence = &FenceConfig{LockDelay: time.Hour}
			h.cfg.Fencer, h.cfg.FenceID, h.cfg.FenceRequired = &fakeFencer{ev: h.ev}, "node-b", true
			h.cfg.FencePeers = []string{"node-a", "node-x"}
			h.hold.state = lock.VersionedFenceState{FenceState: lock.FenceState{Service: "/svc", Token: 40,
				Holder: volumeHolder("node-a"), FenceID: "node-a"}, Version: 3}
			stale := h.clk.Now().Add(-2 * time.Hour).UTC()
			writeRecord(t, planted, fence.Record{Service: "/svc", Token: 41, Holder: plantedHolder, Heartbeat: stale})
			writeRecord(t, real, fence.Record{Service: "/svc", Token: 40, Holder: volumeHolder("node-a"), Heartbeat: stale})
			out := h.run()
			h.waitEvent("storage prepare")
			time.Sleep(200 * time.Millisecond)
			var fencedA, started bool
			for _, e := range h.ev.list() {
				fencedA = fencedA || e == "fence off node-a"
				started = started || e == "child started"
			}
			if started && !fencedA {
				t.Fatalf("node-a, which ZooKeeper's fence state names as not released, was never fenced because a volume's "+
					"record named a newer holder; the child started at once over node-a's stale record; events %v", h.ev.list())
			}
			if !started {
				h.waitTimers(2)
				h.clk.Advance(time.Hour)
			}
			h.waitStarted()
			h.child.exit(0)
			if err := h.awaitRun(out, 10*time.Second); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Review 4, F2b: the same for a record of another service whose token
// equals OUR token (42 on the other ensemble): fence.remaining takes it for
// our own record (prev.Token == c.Token) and lifts its lock-delay, with
// nobody fenced at all.
func TestOurTokenDoesNotVouchForAnotherServicesRecord(t *testing.T) {
	h := newHarness(t)
	h.stopAfter, h.killAfter = 2*time.Hour, 2*time.Hour+4*time.Second
	root := t.TempDir()
	s := h.withStorage()
	s.roots = []string{root}
	h.cfg.Fence = &FenceConfig{LockDelay: time.Hour, TakeOver: true}
	writeRecord(t, root, fence.Record{Service: "/other", Token: 42, Holder: volumeHolder("node-z"),
		Heartbeat: h.clk.Now().UTC()})
	out := h.run()
	h.waitEvent("storage prepare")
	time.Sleep(200 * time.Millisecond)
	for _, e := range h.ev.list() {
		if e == "child started" {
			t.Fatalf("the child started at once over the fresh heartbeat of another service's holder (node-z), "+
				"because its token equals ours; events %v", h.ev.list())
		}
	}
	h.waitTimers(2) // the lease follower and the lock-delay on node-z's record
	h.clk.Advance(time.Hour)
	h.waitStarted()
	h.child.exit(0)
	if err := h.awaitRun(out, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}
