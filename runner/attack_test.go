package runner

import (
	"context"
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/zkfence/zkfence/fence"
	"github.com/zkfence/zkfence/internal/fstest"
	"github.com/zkfence/zkfence/internal/heldexec"
	"github.com/zkfence/zkfence/lock"
	"github.com/zkfence/zkfence/supervise"
)

// Attacks on the release decision (I8): each test is a sequence of events in
// which the run let go of the lock (fence state marked released, lock node
// deleted: the next contender takes over at once, without the lock-delay)
// while something of its own could still write to the shared storage.

// awaitRun waits for the run's result.
func (h *harness) awaitRun(out <-chan error, max time.Duration) error {
	h.t.Helper()
	select {
	case err := <-out:
		return err
	case <-time.After(max):
		h.t.Fatalf("the run did not end; events %v", h.ev.list())
		return nil
	}
}

// Storage.Prepare fails after it mounted a device (a post-mount check
// refused it: too little free space, the write probe timed out on a device
// that stopped answering, the mount changed under zkfence) and the undo
// unmount fails too (busy, or its sync hangs on the dead device). fsguard
// then still has the device mounted on this node. The run must not release:
// a next holder that takes over at once fscks and mounts a device this node
// still has mounted (its kernel writes the journal and the superblock).
func TestAttackPrepareFailsWithDeviceStillMounted(t *testing.T) {
	h := newHarness(t)
	s := h.withStorage()
	s.heldOnError = true
	s.releaseErr = errors.New("umount /data: target is busy")
	s.prepare = func(context.Context) error {
		return errors.New("/data: 10 MB available, want 1 GB; undo: umount /data: target is busy")
	}
	err := h.awaitRun(h.run(), 10*time.Second)
	h.check(phase{
		want:    []string{"lock acquired", "storage prepare", "storage release", "lock abandoned"},
		notWant: []string{"child started", "lock released", "fence state released"},
		errIs:   []error{ErrNotReleased},
	}, err)
}

// stalledVolume is a FUSE mount (bindfs) standing for a network filesystem
// whose server or daemon stops answering: Freeze makes every call on it
// block in the kernel until Thaw. The fence record is read and written
// through Mnt; the test looks at it through Src, which never blocks.
func stalledVolume(t *testing.T) *fstest.BindMount {
	t.Helper()
	fuse := fstest.BindFS(t, t.TempDir())
	t.Cleanup(func() { fuse.Thaw() })
	return fuse
}

// writeRecord writes r as the fence record of the volume backed by src.
func writeRecord(t *testing.T, src string, r fence.Record) {
	t.Helper()
	if err := fence.Write(src, r); err != nil {
		t.Fatal(err)
	}
}

// recordChanged waits up to max for the record under src to differ from
// was, and returns it.
func recordChanged(src string, was fence.Record, max time.Duration) (fence.Record, bool) {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		if r, err := fence.Read(src); err == nil && (r.Token != was.Token || r.Released != was.Released || !r.Heartbeat.Equal(was.Heartbeat)) {
			return r, true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fence.Record{}, false
}

// The lock node is deleted (B holds the lock at once) while the run's
// fence.Acquire waits on a volume that stalls in the read of the record.
// The run gives up on it (bounded), ends and releases; when the volume
// answers again, the abandoned Acquire goes on and writes our token over
// whatever the new holder wrote: a write to the shared volume after another
// node holds the lock (the new holder's keeper then finds an older token and
// kills its own child).
func TestAttackFenceAcquireWritesAfterTheLockIsGone(t *testing.T) {
	h := newHarness(t)
	fuse := stalledVolume(t)
	old := fence.Record{Service: "/svc", Token: 41, Holder: "old", Heartbeat: time.Now().UTC().Round(0), Released: true}
	writeRecord(t, fuse.Src, old)
	s := h.withStorage()
	s.roots = []string{fuse.Mnt}
	s.prepare = func(context.Context) error { return fuse.Freeze() } // the volume stalls from now on
	h.cfg.Fence = &FenceConfig{LockDelay: time.Second}
	out := h.run()
	h.waitEvent("storage prepare")
	time.Sleep(200 * time.Millisecond) // fence.Acquire is now stuck in the read
	h.lease.lose(lock.ErrNodeGone)
	err := h.awaitRun(out, 10*time.Second)
	released := false
	for _, e := range h.ev.list() {
		released = released || e == "lock released"
	}
	if err := fuse.Thaw(); err != nil { // the volume answers again
		t.Fatal(err)
	}
	if r, ok := recordChanged(fuse.Src, old, 2*time.Second); ok {
		t.Errorf("the run wrote its fence record (token %d) on the volume after it ended with %v "+
			"(lock released: %v): another node holds the lock since the node was deleted", r.Token, err, released)
	}
	if !errors.Is(err, ErrLockLost) {
		t.Errorf("error %v, want it to wrap ErrLockLost", err)
	}
}

// The child exits; in cleanup the volume stalls in the read of the record
// that fence.Release marks released. After releaseTimeout the run gives
// up on it, marks the ZooKeeper fence state released and deletes its lock
// node: the next holder takes over at once, with no lock-delay, while the
// abandoned fence.Release is still there to write when the volume answers.
// A run with a storage call stuck in the filesystem must not release.
func TestAttackFenceReleaseStuckThenLockReleased(t *testing.T) {
	h := newHarness(t)
	fuse := stalledVolume(t)
	s := h.withStorage()
	s.roots = []string{fuse.Mnt}
	h.cfg.Fence = &FenceConfig{LockDelay: time.Second, ClaimNew: true}
	out := h.run()
	h.waitStarted()
	ours, err := fence.Read(fuse.Src)
	if err != nil {
		t.Fatalf("no fence record written at the start: %v", err)
	}
	if err := fuse.Freeze(); err != nil { // the volume stalls from now on
		t.Fatal(err)
	}
	h.child.exit(0)
	err = h.awaitRun(out, 3*releaseTimeout)
	h.check(phase{
		want:    []string{"child started", "lock abandoned"},
		notWant: []string{"lock released", "fence state released"},
		errIs:   []error{ErrNotReleased},
	}, err)
	fuse.Thaw()
	if r, ok := recordChanged(fuse.Src, ours, 2*time.Second); ok {
		t.Logf("the abandoned fence.Release wrote the record (token %d, released %v) after the run ended", r.Token, r.Released)
	}
}

// A --restore-cmd script (a process started under the lock) leaves a
// daemonized writer behind: `setsid ... &` (a background sync, a server it
// started to check the restore). It left the script's process group, so the
// group SIGKILL of package heldexec does not reach it; without the freeze
// guard (no PID namespace: the default in a container without
// CAP_SYS_ADMIN) nothing else does. zkfence, the child subreaper, even
// becomes its parent, but supervise counts a child of the wrapper that
// predates the child's start as a helper, so the child's Stop leaves it
// alone too. The run then ends, releases the lock at once, and the writer
// goes on writing into the data directory's filesystem while the next
// holder runs.
func TestAttackRestoreScriptDaemonSurvivesTheRun(t *testing.T) {
	if err := supervise.BecomeSubreaper(); err != nil { // as Run does
		t.Fatal(err)
	}
	h := newHarness(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	h.cfg.Restorer = fakeRestorer{restore: func(ctx context.Context) error {
		cmd := heldexec.Command(ctx, "/bin/sh", "-c",
			`setsid /bin/sh -c 'echo $$ > `+pidFile+`; exec sleep 60' </dev/null >/dev/null 2>&1 &
			i=0; while [ ! -s `+pidFile+` ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i+1)); done`)
		return heldexec.Run(cmd)
	}}
	t.Cleanup(func() {
		if pid := fstest.PidFile(pidFile); pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	out := h.run()
	h.waitStarted()
	h.lease.lose(lock.ErrLeaseDeadline)
	err := h.awaitRun(out, 10*time.Second)
	if !errors.Is(err, ErrLockLost) {
		t.Errorf("error %v, want ErrLockLost", err)
	}
	pid := fstest.WaitPidFile(pidFile, time.Second)
	if pid == 0 {
		t.Fatal("the restore script's daemon never started")
	}
	if syscall.Kill(pid, 0) == nil && !fstest.Zombie(pid) {
		t.Errorf("pid %d, daemonized by the restore script under the lock, is alive after the run ended "+
			"(events %q): it writes on while the next holder runs", pid, h.ev.list())
	}
}

// The child's main process exits by itself (a launcher whose database
// daemonized, or a forwarded SIGTERM) at the instant ZooKeeper lets the
// lock go (the lock node deleted: B holds it now). The watch takes the
// child's exit, and childExited stops what the child left behind with the
// graceful policy: the daemonized database gets the stop signal (a
// PostgreSQL or InnoDB shutdown writes its checkpoint) before the SIGKILL
// the lease watcher sends a moment later. With the lock already gone the
// leftovers must get SIGKILL at once, as in stopOnLoss.
func TestAttackChildExitsAsTheLockGoes(t *testing.T) {
	h := newHarness(t)
	out := h.run()
	h.waitStarted()
	h.lease.mu.Lock()
	h.lease.onKillBy = func() { h.lease.lose(lock.ErrNodeGone) }
	h.lease.mu.Unlock()
	h.child.exit(0)
	err := h.awaitRun(out, 10*time.Second)
	h.check(phase{
		want:    []string{"child started", "stop SIGKILL"},
		notWant: []string{"stop SIGINT"},
	}, err)
}

// The lease ended at its deadline (ZooKeeper out of reach): graceful stop.
// During the grace ZooKeeper answers again and says the lock node is gone
// (another contender holds the lock from that instant). The grace must end
// at once; the run used to look at the lease's error only once, when the
// stop began.
func TestAttackNodeDeletedDuringTheGraceAfterTheDeadline(t *testing.T) {
	h := newHarness(t)
	h.child.trap = true
	out := h.run()
	h.waitStarted()
	h.lease.lose(lock.ErrLeaseDeadline)
	h.waitEvent("stop SIGINT")
	gone := time.Now()
	h.lease.goneLater(lock.ErrNodeGone)
	h.waitEvent("KILL after the grace was cut")
	if took := time.Since(gone); took > time.Second {
		t.Errorf("SIGKILL %v after ZooKeeper said the lock is gone (the grace ran on)", took.Round(time.Millisecond))
	}
	err := h.awaitRun(out, 10*time.Second)
	if !errors.Is(err, ErrLockLost) {
		t.Errorf("error %v, want ErrLockLost", err)
	}
}
