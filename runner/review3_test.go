package runner

import (
	"strings"
	"testing"
	"time"

	"github.com/zkfence/zkfence/fence"
	"github.com/zkfence/zkfence/internal/fstest"
	"github.com/zkfence/zkfence/lock"
)

// Review 3, F2: the volume path fences the holder ONE record names, and its
// token alone (Claim.Fenced) then skips the lock-delay on EVERY record with
// that token, whoever it names. A record planted on one volume (a tenant
// that can write it as zkfence's user: no_root_squash, a root container on
// another node) with the real previous holder's token and a fence id of its
// choosing (a node already off, its own) gets that node "fenced" and lifts
// the lock-delay of the real holder's record on another volume, which the
// tenant cannot write. Before the volume path, with no fence state in
// ZooKeeper, nothing was fenced and every record's lock-delay held.
//
//  1. A (node-a, token 41) holds both volumes; its lease ends, its heartbeat
//     is fresh (it may write on: cut off, or frozen a moment ago).
//     ZooKeeper's fence state is gone.
//  2. The tenant rewrites V1's record: token 41, fence id node-x.
//  3. B (token 42): dealWithUnrecorded reads V1 (node-x, 41) and V2
//     (node-a, 41); equal tokens: the first read wins; node-x is "fenced"
//     and confirmed; c.Fenced = 41.
//  4. fence.Acquire on V2 finds token 41 == c.Fenced: no lock-delay. B's
//     child starts at once beside A, which nobody fenced.
func TestVolumeFenceSkipsOnlyTheFencedHoldersRecords(t *testing.T) {
	h := newHarness(t)
	h.stopAfter, h.killAfter = 2*time.Hour, 2*time.Hour+4*time.Second
	planted, real := t.TempDir(), t.TempDir()
	s := h.withStorage()
	s.roots, s.readable = []string{planted, real}, []string{planted, real}
	h.cfg.Fence = &FenceConfig{LockDelay: time.Hour}
	h.withFencer("node-b")
	h.cfg.FencePeers = []string{"node-a", "node-x"}
	now := h.clk.Now().UTC()
	if err := fence.Write(planted, fence.Record{Service: "/svc", Token: 41, Holder: volumeHolder("node-x"),
		Heartbeat: now.Add(-2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := fence.Write(real, fence.Record{Service: "/svc", Token: 41, Holder: volumeHolder("node-a"), Heartbeat: now}); err != nil {
		t.Fatal(err)
	}
	out := h.run()
	h.waitEvent("storage prepare")
	time.Sleep(200 * time.Millisecond)
	var fencedA, started bool
	for _, e := range h.ev.list() {
		fencedA = fencedA || e == "fence off node-a"
		started = started || e == "child started"
	}
	if started && !fencedA {
		t.Fatalf("the child started at once over node-a's fresh heartbeat on %s; node-a was never fenced, only the "+
			"node a record on another volume named for the same token; events %v", real, h.ev.list())
	}
	if !started {
		h.waitTimers(2) // the lease follower and the lock-delay on node-a's record
		h.clk.Advance(time.Hour)
	}
	h.waitStarted()
	h.child.exit(0)
	err := h.awaitRun(out, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.logs.String(), "node-x") {
		t.Errorf("log does not name node-x:\n%s", h.logs.String())
	}
}

// Review 3, F3: the volume is read only when ZooKeeper's fence state names
// nobody. When the state was restored from a backup (ZooKeeper's data lost,
// its last snapshot put back), it names an OLDER holder, released cleanly
// (or one that was fenced long ago), while the volume's record names the
// holder that came after it and never released: the case of issue 17
// again, with the state rolled back rather than deleted.
//
//  1. P (token 30) released cleanly; ZooKeeper's snapshot is taken.
//  2. A (node-a, token 41) holds, writes its record on the volume, freezes
//     mid-write; its heartbeat stops.
//  3. ZooKeeper's data is lost; the snapshot is restored: <lock>.fence says
//     {30, released}. The epoch moves on: B's token (42) is newer than 41.
//  4. B: dealWithPrevious sees "released": nothing fenced, no early read.
//     fence.Acquire finds A's heartbeat older than the lock-delay: writes at
//     once; B's child starts; A thaws and writes beside it.
func TestVolumeNewerThanTheFenceStateIsDealtWith(t *testing.T) {
	h := newHarness(t)
	h.stopAfter, h.killAfter = 2*time.Hour, 2*time.Hour+4*time.Second
	root := t.TempDir()
	s := h.withStorage()
	s.roots, s.readable = []string{root}, []string{root}
	h.cfg.Fence = &FenceConfig{LockDelay: time.Hour}
	h.withFencer("node-b")
	h.cfg.FencePeers = []string{"node-a", "node-x"}
	h.hold.state = lock.VersionedFenceState{FenceState: lock.FenceState{Service: "/svc", Token: 30,
		Holder: volumeHolder("node-p"), FenceID: "node-p", Released: true}, Version: 3}
	if err := fence.Write(root, fence.Record{Service: "/svc", Token: 41, Holder: volumeHolder("node-a"),
		Heartbeat: h.clk.Now().Add(-2 * time.Hour).UTC()}); err != nil {
		t.Fatal(err)
	}
	out := h.run()
	h.waitEvent("storage prepare")
	time.Sleep(200 * time.Millisecond)
	var fencedA, started bool
	for _, e := range h.ev.list() {
		fencedA = fencedA || e == "fence off node-a"
		started = started || e == "child started"
	}
	if started && !fencedA {
		t.Fatalf("the child started at once over the record of node-a (token 41, newer than the fence state's 30, "+
			"never released), which was never fenced; events %v", h.ev.list())
	}
	h.waitStarted()
	h.child.exit(0)
	if err := h.awaitRun(out, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	h.check(phase{want: []string{"fence off node-a", "fence state claimed", "storage prepare", "child started"}}, nil)
}

// Review 3, F4: the early read of a volume that does not answer in time (an
// NFS server failing over, a FUSE daemon stalled: often the very event that
// froze the holder) is dropped, and the run goes on as "first": when the
// volume answers again before the storage checks, fence.Acquire finds the
// frozen holder's stale heartbeat and writes at once. Nothing was fenced,
// no lock-delay counted from now (as FENCING FAILED does), and
// --fence-required did not refuse: the volume path's protection is lost
// silently.
//
//  1. A (node-a) holds; its VM and the NFS server pause together. A's
//     heartbeat stops; ZooKeeper's fence state is gone.
//  2. B: the early read of the record hangs past fence.DefaultIOTimeout:
//     "fence record not read before the storage checks", then "first".
//  3. The volume answers again. B's Prepare and fence.Acquire: A's heartbeat
//     is older than the lock-delay: B writes, its child starts; A thaws.
func TestVolumeReadTimeoutIsNotFirst(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: waits out fence.DefaultIOTimeout")
	}
	h := newHarness(t)
	h.stopAfter, h.killAfter = 2*time.Hour, 2*time.Hour+4*time.Second
	fuse := stalledVolume(t)
	writeRecord(t, fuse.Src, fence.Record{Service: "/svc", Token: 41, Holder: volumeHolder("node-a"),
		Heartbeat: time.Now().Add(-2 * time.Hour).UTC()})
	s := h.withStorage()
	s.roots, s.readable = []string{fuse.Mnt}, []string{fuse.Mnt}
	h.cfg.Fence = &FenceConfig{LockDelay: time.Hour}
	h.withFencer("node-b")
	h.cfg.FencePeers = []string{"node-a", "node-x"}
	stalledReadIsAFailedFence(t, h, fuse, "node-a")
}

// stalledReadIsAFailedFence runs h with fuse (a readable volume whose
// record names an unreleased holder with fence id stale) frozen until the
// early read gives up, then thaws it, and checks that the read that timed
// out counted as a failed fence: the child does not start over the stale
// record unless stale was fenced, FENCING FAILED is logged, and the child
// starts only after a lock-delay (an hour, on h's clock) counted from then.
func stalledReadIsAFailedFence(t *testing.T, h *harness, fuse *fstest.BindMount, stale string) {
	t.Helper()
	if err := fuse.Freeze(); err != nil {
		t.Fatal(err)
	}
	out := h.run()
	h.waitEvent("storage readable")
	deadline := time.Now().Add(fence.DefaultIOTimeout + 10*time.Second)
	for !strings.Contains(h.logs.String(), "fence record not read before the storage checks") {
		if time.Now().After(deadline) {
			t.Fatalf("the early read did not give up; events %v", h.ev.list())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := fuse.Thaw(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	var fenced, started bool
	for _, e := range h.ev.list() {
		fenced = fenced || e == "fence off "+stale
		started = started || e == "child started"
	}
	if started && !fenced {
		t.Fatalf("the early read timed out and the child started at once over %s's stale record: nobody fenced it, "+
			"no lock-delay counted from now; events %v", stale, h.ev.list())
	}
	h.waitTimers(2) // the lease follower and a lock-delay counted from now
	h.clk.Advance(time.Hour)
	h.waitStarted()
	h.child.exit(0)
	if err := h.awaitRun(out, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.logs.String(), "FENCING FAILED") {
		t.Errorf("log lacks FENCING FAILED:\n%s", h.logs.String())
	}
}

// Review 3, F5: previousOnVolumes picks ONE record for all volumes (the
// newest unreleased), and the outcome for that record decides for the
// others. A record on one volume that names a newer unreleased holder
// without a fence id (or with our own fence id) makes the run fence nobody,
// although another volume's record names an unreleased holder with a fence
// id: that holder is left to its heartbeat, stale for a frozen holder. A
// tenant who can write one volume's record (as zkfence's user) suppresses
// the fence of the holder of another volume it cannot write.
func TestVolumeFenceIsNotSuppressedByAnotherVolumesRecord(t *testing.T) {
	for _, c := range []struct{ name, holder string }{
		{"newer record without a fence id", `{"host":"old-zkfence","pid":1}`},
		{"newer record with our own fence id", volumeHolder("node-b")},
	} {
		plantedHolder := c.holder
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.stopAfter, h.killAfter = 2*time.Hour, 2*time.Hour+4*time.Second
			planted, real := t.TempDir(), t.TempDir()
			s := h.withStorage()
			s.roots, s.readable = []string{planted, real}, []string{planted, real}
			h.cfg.Fence = &FenceConfig{LockDelay: time.Hour}
			h.withFencer("node-b")
			h.cfg.FencePeers = []string{"node-a", "node-x"}
			stale := h.clk.Now().Add(-2 * time.Hour).UTC()
			if err := fence.Write(planted, fence.Record{Service: "/svc", Token: 41, Holder: plantedHolder, Heartbeat: stale}); err != nil {
				t.Fatal(err)
			}
			if err := fence.Write(real, fence.Record{Service: "/svc", Token: 40, Holder: volumeHolder("node-a"), Heartbeat: stale}); err != nil {
				t.Fatal(err)
			}
			out := h.run()
			h.waitEvent("storage prepare")
			time.Sleep(200 * time.Millisecond)
			var fencedA, started bool
			for _, e := range h.ev.list() {
				fencedA = fencedA || e == "fence off node-a"
				started = started || e == "child started"
			}
			if started && !fencedA {
				t.Fatalf("node-a (token 40, unreleased, with a fence id) was not fenced because another volume's record "+
					"named a newer holder that cannot be fenced; the child started at once; events %v", h.ev.list())
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

// Review 3: the lease ends while the agent fences the holder a volume's
// record names: the fence is abandoned (its process group killed by
// package fenceagent when ctx ends), nothing is written in ZooKeeper or on
// the volume, storage is never touched. (Holds on main; kept as a guard.)
func TestLeaseEndsWhileFencingTheVolumeHolder(t *testing.T) {
	h := newHarness(t)
	root := t.TempDir()
	s := h.withStorage()
	s.roots, s.readable = []string{root}, []string{root}
	h.cfg.Fence = &FenceConfig{LockDelay: time.Second}
	h.cfg.Fencer, h.cfg.FenceID = &fakeFencer{ev: h.ev, block: true}, "node-b"
	h.cfg.FencePeers = []string{"node-a"}
	rec := fence.Record{Service: "/svc", Token: 41, Holder: volumeHolder("node-a"), Heartbeat: h.clk.Now().UTC()}
	if err := fence.Write(root, rec); err != nil {
		t.Fatal(err)
	}
	out := h.run()
	h.waitEvent("fence off node-a")
	h.lease.lose(lock.ErrSessionExpired)
	err := h.awaitRun(out, 5*time.Second)
	h.check(phase{
		want:    []string{"storage readable", "fence off node-a", "lock released"},
		notWant: []string{"fence state claimed", "unfence", "storage prepare", "child started", "lock abandoned"},
		errIs:   []error{ErrLockLost},
	}, err)
	requireUntouched(t, root, rec)
}
