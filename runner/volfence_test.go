package runner

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zkfence/zkfence/fence"
	"github.com/zkfence/zkfence/lock"
)

// Issue 17: ZooKeeper's fence state names no previous holder (its data was
// lost, an operator deleted <lock>.fence, the holder ran a zkfence that
// wrote none), and a shared volume, readable before anything is written,
// still carries the previous holder's fence record. A holder that did not
// release is fenced from what that record names, as if ZooKeeper had named
// it; its confirmed token alone skips the volume's lock-delay.

// volumeHolder is the record's Holder field for a holder with fence id id.
func volumeHolder(id string) string {
	return lock.Holder{Host: "host-" + id, PID: 7, Version: "test", FenceID: id}.String()
}

type volumeCase struct {
	name string
	// record is written on the volume before the run; fencer and required
	// configure the fence agent.
	record   fence.Record
	plant    func(t *testing.T, root string) // if set, instead of record
	fencer   *fakeFencer
	required bool
	peers    []string      // --fence-peers (nil: not given)
	errHas   string        // a substring of the run's error
	lockWait time.Duration // the volume's lock-delay
	// drive, if set, runs once the run started (before the child's start
	// is awaited).
	drive func(h *harness)
	// takeover is the fence state's Takeover once the child runs ("": the
	// child must not start); the phase says the rest.
	takeover string
	phase    phase
}

func volumeCases(now time.Time) []volumeCase {
	fresh, stale := now.UTC(), now.Add(-2*time.Hour).UTC()
	return []volumeCase{
		{
			// The heartbeat is fresh and the lock-delay an hour: only the
			// confirmed fence lets the child start.
			name:     "unreleased holder named by the volume: fenced before storage, no lock-delay",
			record:   fence.Record{Service: "/svc", Token: 41, Holder: volumeHolder("node-a"), Heartbeat: fresh},
			fencer:   &fakeFencer{},
			peers:    []string{"node-a"},
			lockWait: time.Hour,
			takeover: "fenced node-a (volume record)",
			phase: phase{
				want: []string{"lock acquired", "storage readable", "fence off node-a", "unfence node-b",
					"fence state claimed", "storage prepare", "child started"},
				logs: []string{"the volume's fence record names one that did not release", "previous holder fenced"},
			},
		},
		{
			name:     "released holder named by the volume: not fenced",
			record:   fence.Record{Service: "/svc", Token: 41, Holder: volumeHolder("node-a"), Heartbeat: fresh, Released: true},
			fencer:   &fakeFencer{},
			lockWait: time.Hour,
			takeover: "released (volume record)",
			phase: phase{
				want:    []string{"storage readable", "fence state claimed", "storage prepare", "child started"},
				notWant: []string{"fence off"},
			},
		},
		{
			name:     "unreleased holder with our own fence id: not fenced (no self-fencing)",
			record:   fence.Record{Service: "/svc", Token: 41, Holder: volumeHolder("node-b"), Heartbeat: stale},
			fencer:   &fakeFencer{},
			lockWait: time.Second,
			takeover: "first, same node (volume record)",
			phase: phase{
				want:    []string{"storage readable", "fence state claimed", "storage prepare", "child started"},
				notWant: []string{"fence off"},
				logs:    []string{"same fence id"},
			},
		},
		{
			name:     "fencing the holder named by the volume fails, --fence-required: nothing touched",
			record:   fence.Record{Service: "/svc", Token: 41, Holder: volumeHolder("node-a"), Heartbeat: stale},
			fencer:   &fakeFencer{offErr: errors.New("agent exited 1")},
			peers:    []string{"node-a"},
			required: true,
			lockWait: time.Second,
			phase: phase{
				want:    []string{"storage readable", "fence off node-a", "lock released"},
				notWant: []string{"storage prepare", "child started", "fence state claimed"},
				errIs:   []error{ErrFencingFailed},
			},
		},
		{
			// As fencePrevious: the lock-delay is waited out, from now,
			// although the record's heartbeat is old.
			name:     "fencing the holder named by the volume fails, not required: FENCING FAILED, the lock-delay waited out",
			record:   fence.Record{Service: "/svc", Token: 41, Holder: volumeHolder("node-a"), Heartbeat: stale},
			fencer:   &fakeFencer{offErr: errors.New("agent exited 1")},
			peers:    []string{"node-a"},
			lockWait: 5 * time.Second,
			drive: func(h *harness) {
				h.waitEvent("fence off")
				h.waitTimers(2) // the lease follower and the lock-delay
				time.Sleep(20 * time.Millisecond)
				for _, e := range h.ev.list() {
					if e == "storage prepare" {
						h.t.Fatalf("storage touched before the lock-delay ended; events %v", h.ev.list())
					}
				}
				h.clk.Advance(5 * time.Second)
			},
			takeover: "FENCING FAILED, waited lock-delay (volume record)",
			phase: phase{
				want: []string{"storage readable", "fence off node-a", "fence state claimed", "storage prepare", "child started"},
				logs: []string{"FENCING FAILED"},
			},
		},
		{
			// A record is not trusted to choose whom root fences: the id
			// it names must be listed in --fence-peers.
			name:     "the volume names node-x, no --fence-peers, --fence-required: not fenced, refused, nothing touched",
			record:   fence.Record{Service: "/svc", Token: 41, Holder: volumeHolder("node-x"), Heartbeat: stale},
			fencer:   &fakeFencer{},
			required: true,
			lockWait: time.Second,
			errHas:   `"node-x" comes from a volume's fence record and no --fence-peers is given`,
			phase: phase{
				want:    []string{"storage readable", "lock released"},
				notWant: []string{"fence off", "storage prepare", "child started", "fence state claimed"},
				errIs:   []error{ErrFencingFailed},
			},
		},
		{
			name:     "the volume names node-x, --fence-peers lists others, --fence-required: not fenced, refused",
			record:   fence.Record{Service: "/svc", Token: 41, Holder: volumeHolder("node-x"), Heartbeat: stale},
			fencer:   &fakeFencer{},
			peers:    []string{"node-a", "node-c"},
			required: true,
			lockWait: time.Second,
			errHas:   `"node-x" is not in --fence-peers`,
			phase: phase{
				want:    []string{"storage readable", "lock released"},
				notWant: []string{"fence off", "storage prepare", "child started", "fence state claimed"},
				errIs:   []error{ErrFencingFailed},
			},
		},
		{
			// As an agent failure: FENCING FAILED, the lock-delay waited
			// out from now although the record's heartbeat is old.
			name:     "the volume names node-x, no --fence-peers, not required: not fenced, FENCING FAILED, the lock-delay waited out",
			record:   fence.Record{Service: "/svc", Token: 41, Holder: volumeHolder("node-x"), Heartbeat: stale},
			fencer:   &fakeFencer{},
			lockWait: 5 * time.Second,
			drive: func(h *harness) {
				h.waitEvent("storage readable")
				h.waitTimers(2) // the lease follower and the lock-delay
				time.Sleep(20 * time.Millisecond)
				for _, e := range h.ev.list() {
					if e == "storage prepare" {
						h.t.Fatalf("storage touched before the lock-delay ended; events %v", h.ev.list())
					}
				}
				h.clk.Advance(5 * time.Second)
			},
			takeover: "FENCING FAILED, waited lock-delay (volume record)",
			phase: phase{
				want:    []string{"storage readable", "fence state claimed", "storage prepare", "child started"},
				notWant: []string{"fence off"},
				logs:    []string{"FENCING FAILED", "list it in --fence-peers"},
			},
		},
		{
			name:     "the volume names node-x, --fence-peers lists it: fenced",
			record:   fence.Record{Service: "/svc", Token: 41, Holder: volumeHolder("node-x"), Heartbeat: fresh},
			fencer:   &fakeFencer{},
			peers:    []string{"node-a", "node-x"},
			lockWait: time.Hour,
			takeover: "fenced node-x (volume record)",
			phase: phase{
				want: []string{"storage readable", "fence off node-x", "unfence node-b", "fence state claimed",
					"storage prepare", "child started"},
			},
		},
		{
			// fence.Acquire refuses it: ZooKeeper was reset under a volume
			// that a newer holder used. Nobody is fenced for it.
			name:   "the volume names a newer token: not fenced, refused by the storage fence",
			record: fence.Record{Service: "/svc", Token: 50, Holder: volumeHolder("node-a"), Heartbeat: stale},
			fencer: &fakeFencer{},
			phase: phase{
				want:    []string{"storage readable", "storage prepare"},
				notWant: []string{"fence off", "child started"},
				errIs:   []error{fence.ErrFenced},
			},
		},
		{
			// fence.Read neither blocks on it nor takes it for a holder;
			// fence.Acquire then refuses the volume.
			name: "a FIFO planted as the record: nothing fenced, nothing blocks, the volume refused",
			plant: func(t *testing.T, root string) {
				if err := os.Mkdir(filepath.Join(root, fence.Dir), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := syscall.Mkfifo(fence.Path(root), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			fencer: &fakeFencer{},
			phase: phase{
				want:    []string{"storage readable", "storage prepare"},
				notWant: []string{"fence off", "child started"},
				errIs:   []error{fence.ErrRefused},
				logs:    []string{"fence record not read before the storage checks"},
			},
		},
		{
			// Without an agent nothing is read early: the volume's
			// lock-delay alone applies, as before.
			name:     "no fence agent: the volume is not read before storage",
			record:   fence.Record{Service: "/svc", Token: 41, Holder: volumeHolder("node-a"), Heartbeat: stale},
			lockWait: time.Second,
			takeover: "first",
			phase: phase{
				want:    []string{"fence state claimed", "storage prepare", "child started"},
				notWant: []string{"storage readable", "fence off"},
			},
		},
	}
}

func TestPreviousHolderNamedByTheVolume(t *testing.T) {
	for _, tc := range volumeCases(time.Now()) {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.stopAfter, h.killAfter = time.Minute, time.Minute+4*time.Second
			root := t.TempDir()
			s := h.withStorage()
			s.roots, s.readable = []string{root}, []string{root}
			h.cfg.Fence = &FenceConfig{LockDelay: tc.lockWait}
			h.cfg.FenceID, h.cfg.FenceRequired, h.cfg.FencePeers = "node-b", tc.required, tc.peers
			if tc.fencer != nil {
				tc.fencer.ev = h.ev
				h.cfg.Fencer = tc.fencer
			}
			if tc.plant != nil {
				tc.plant(t, root)
			} else if err := fence.Write(root, tc.record); err != nil {
				t.Fatal(err)
			}
			out := h.run()
			if tc.drive != nil {
				tc.drive(h)
			}
			if tc.takeover != "" {
				h.waitStarted()
				h.hold.mu.Lock()
				got := h.hold.state.Takeover
				h.hold.mu.Unlock()
				if got != tc.takeover {
					t.Errorf("fence state takeover %q, want %q", got, tc.takeover)
				}
				if r, err := fence.Read(root); err != nil || r.Token != 42 {
					t.Errorf("volume record after the start: %+v, %v; want our token 42", r, err)
				}
				h.child.exit(0)
			}
			var err error
			select {
			case err = <-out:
			case <-time.After(10 * time.Second):
				t.Fatalf("the run did not end; events %v", h.ev.list())
			}
			h.check(tc.phase, err)
			if tc.errHas != "" && (err == nil || !strings.Contains(err.Error(), tc.errHas)) {
				t.Errorf("error %v, want it to say %q", err, tc.errHas)
			}
			if tc.takeover == "" && tc.plant == nil {
				requireUntouched(t, root, tc.record)
			}
		})
	}
}

// requireUntouched checks that a run that did not start wrote nothing on
// the volume: the record as it was, and nothing beside it.
func requireUntouched(t *testing.T, root string, was fence.Record) {
	t.Helper()
	r, err := fence.Read(root)
	if err != nil || r.Token != was.Token || r.Released != was.Released || !r.Heartbeat.Equal(was.Heartbeat) {
		t.Errorf("volume record %+v (%v), want it untouched: %+v", r, err, was)
	}
	for _, dir := range []string{root, filepath.Join(root, fence.Dir)} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			t.Errorf("%s holds %d entries, want only %s: something was written", dir, len(entries), fence.Dir+"/"+fence.File)
		}
	}
}

// The shared volume stops answering (a hung NFS server, a stopped FUSE
// daemon) while the run reads its record before the storage checks, and
// the lease ends meanwhile: the read is bounded by the lease, nothing is
// fenced or started, and since a read writes nothing when the volume
// answers again, the lock is let go rather than left to expire.
func TestVolumeReadBeforeStorageIsBoundedByTheLease(t *testing.T) {
	h := newHarness(t)
	fuse := stalledVolume(t)
	rec := fence.Record{Service: "/svc", Token: 41, Holder: volumeHolder("node-a"), Heartbeat: time.Now().UTC().Round(0)}
	writeRecord(t, fuse.Src, rec)
	s := h.withStorage()
	s.roots, s.readable = []string{fuse.Mnt}, []string{fuse.Mnt}
	h.cfg.Fence = &FenceConfig{LockDelay: time.Second}
	h.cfg.Fencer, h.cfg.FenceID, h.cfg.FencePeers = &fakeFencer{ev: h.ev}, "node-b", []string{"node-a"}
	if err := fuse.Freeze(); err != nil {
		t.Fatal(err)
	}
	out := h.run()
	h.waitEvent("storage readable")
	time.Sleep(200 * time.Millisecond) // the read is now stuck in the kernel
	h.lease.lose(lock.ErrLeaseDeadline)
	err := h.awaitRun(out, 5*time.Second)
	h.check(phase{
		want:    []string{"lock released"},
		notWant: []string{"fence off", "fence state claimed", "storage prepare", "child started", "lock abandoned"},
		errIs:   []error{ErrLockLost},
	}, err)
	if err := fuse.Thaw(); err != nil {
		t.Fatal(err)
	}
	if r, ok := recordChanged(fuse.Src, rec, time.Second); ok {
		t.Errorf("the record changed after the volume answered again: %+v", r)
	}
}
