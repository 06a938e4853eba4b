package fsguard

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/zkfence/zkfence/internal/fstest"
	"golang.org/x/sys/unix"
)

// Test timings: probes often, a timeout generous enough for a loaded CI
// machine when a probe must pass, short when it must time out.
const (
	testInterval    = 100 * time.Millisecond
	testTimeout     = 2 * time.Second
	testHungTimeout = 300 * time.Millisecond
	// detectWithin bounds every wait for a loss; the latency itself is
	// measured by BenchmarkDetect, not asserted here.
	detectWithin = 15 * time.Second
)

// sharedBindFS prepares a bindfs mount in shared mode.
func sharedBindFS(t *testing.T) (*fstest.BindMount, *Prepared) {
	t.Helper()
	b := fstest.BindFS(t, t.TempDir())
	log, _ := testLogger(t)
	p, err := prepare(t, log, Volume{Path: b.Mnt, FSType: "fuse*"})
	if err != nil {
		t.Fatal(err)
	}
	return b, p
}

func watch(t *testing.T, p *Prepared, timeout time.Duration) *Watcher {
	t.Helper()
	log, _ := testLogger(t)
	w := Watch(p, testInterval, timeout, log)
	t.Cleanup(w.Stop)
	return w
}

func TestWatchHealthyMountIsNotLost(t *testing.T) {
	_, p := sharedBindFS(t)
	w := watch(t, p, testTimeout)
	select {
	case <-w.Lost():
		t.Fatalf("healthy mount lost: %v", w.Err())
	case <-time.After(10 * testInterval):
	}
	stopPromptly(t, w)
	if w.Err() != nil {
		t.Errorf("Err after Stop: %v", w.Err())
	}
}

func TestWatchDaemonKilledIsENOTCONN(t *testing.T) {
	b, p := sharedBindFS(t)
	w := watch(t, p, testTimeout)
	time.Sleep(3 * testInterval) // a few good probes first
	if err := b.Kill(); err != nil {
		t.Fatal(err)
	}
	// ENOTCONN for every call after the daemon died; ECONNABORTED for a
	// request that was in flight when it died.
	err := waitLost(t, w, detectWithin)
	if !errors.Is(err, ErrMountLost) || !(errors.Is(err, unix.ENOTCONN) || errors.Is(err, unix.ECONNABORTED)) {
		t.Errorf("got %v, want mount lost with ENOTCONN", err)
	}
}

func TestWatchDaemonStoppedTimesOut(t *testing.T) {
	b, p := sharedBindFS(t)
	w := watch(t, p, testHungTimeout)
	if err := b.Freeze(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Thaw() }) // before the unmount, so the stuck probe can end
	err := waitLost(t, w, detectWithin)
	if !errors.Is(err, ErrMountLost) || !errors.Is(err, errProbeTimeout) || !strings.Contains(err.Error(), "timed out after 300ms") {
		t.Errorf("got %v, want mount lost by a timed-out probe", err)
	}
	stopPromptly(t, w)
}

func TestWatchOneProbeInFlight(t *testing.T) {
	b, p := sharedBindFS(t)
	if err := b.Freeze(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Thaw() })
	// A watch stopped while its probe is stuck, then another on the same
	// volume: the second joins the stuck probe and starts no other.
	first := watch(t, p, time.Minute)
	time.Sleep(3 * testInterval)
	stopPromptly(t, first)
	second := watch(t, p, testHungTimeout)
	if err := waitLost(t, second, detectWithin); !errors.Is(err, errProbeTimeout) {
		t.Errorf("second watch: %v", err)
	}
	if n := stuckProbes(); n != 1 {
		t.Errorf("%d probes in flight, want 1", n)
	}
	if first.Err() != nil {
		t.Errorf("the stopped watch reported %v", first.Err())
	}
}

func stuckProbes() int {
	buf := make([]byte, 1<<20)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "(*guarded).probeOnce(")
}

func TestWatchLazyUnmount(t *testing.T) {
	b, p := sharedBindFS(t)
	w := watch(t, p, testTimeout)
	if err := fstest.LazyUnmount(b.Mnt); err != nil {
		t.Fatal(err)
	}
	if err := waitLost(t, w, detectWithin); !strings.Contains(err.Error(), "no longer mounted") {
		t.Errorf("got %v", err)
	}
}

func TestWatchMountedOver(t *testing.T) {
	b, p := sharedBindFS(t)
	w := watch(t, p, testTimeout)
	if err := unix.Mount("tmpfs", b.Mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(b.Mnt, unix.MNT_DETACH) })
	if err := waitLost(t, w, detectWithin); !strings.Contains(err.Error(), "replaced the guarded one") {
		t.Errorf("got %v", err)
	}
}

func TestWatchRemountReadOnly(t *testing.T) {
	l := fstest.LoopImage(t, 64)
	log, _ := testLogger(t)
	target := t.TempDir()
	p, err := prepare(t, log, Volume{Path: target, Device: l.Dev, FSType: "ext4"})
	if err != nil {
		t.Fatal(err)
	}
	w := watch(t, p, testTimeout)
	if err := fstest.RemountRO(target); err != nil {
		t.Fatal(err)
	}
	if err := waitLost(t, w, detectWithin); !strings.Contains(err.Error(), "read-only") {
		t.Errorf("got %v", err)
	}
	w.Stop()
	if err := p.Release(context.Background()); err != nil || fstest.IsMountPoint(target) {
		t.Errorf("release after the loss: %v", err)
	}
}

func TestWatchDeviceGone(t *testing.T) {
	nd := fstest.NetworkBlockDevice(t, 64)
	log, _ := testLogger(t)
	target := t.TempDir()
	p, err := Prepare(context.Background(), []Volume{{Path: target, Device: nd.Dev, FSType: "ext4"}}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fstest.UnmountIfMounted(t, target) })
	w := watch(t, p, testTimeout)
	if err := nd.Server.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := waitLost(t, w, detectWithin); !errors.Is(err, unix.EIO) {
		t.Errorf("got %v, want EIO from the device", err)
	}
	w.Stop()
	// The sync fails on the dead device; the unmount is done all the same.
	if err := p.Release(context.Background()); !errors.Is(err, unix.EIO) || fstest.IsMountPoint(target) {
		t.Errorf("Release on a dead device: %v; still mounted: %v", err, fstest.IsMountPoint(target))
	}
}

func TestWatchDeviceHung(t *testing.T) {
	nd := fstest.NetworkBlockDevice(t, 64)
	log, _ := testLogger(t)
	target := t.TempDir()
	p, err := prepare(t, log, Volume{Path: target, Device: nd.Dev, FSType: "ext4"})
	if err != nil {
		t.Fatal(err)
	}
	w := watch(t, p, testHungTimeout)
	if err := nd.Server.Freeze(); err != nil {
		t.Fatal(err)
	}
	if err := waitLost(t, w, detectWithin); !errors.Is(err, errProbeTimeout) {
		t.Errorf("got %v, want a timed-out probe", err)
	}
	stopPromptly(t, w)
	if err := nd.Server.Thaw(); err != nil {
		t.Fatal(err)
	}
}

func TestReleaseBusyIsReportedAndRetried(t *testing.T) {
	l := fstest.LoopImage(t, 64)
	log, _ := testLogger(t)
	target := t.TempDir()
	p, err := prepare(t, log, Volume{Path: target, Device: l.Dev, FSType: "ext4"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(target, "held-open"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Release(context.Background()); !errors.Is(err, unix.EBUSY) {
		t.Errorf("Release with an open file: %v, want EBUSY", err)
	}
	f.Close()
	if err := p.Release(context.Background()); err != nil || fstest.IsMountPoint(target) {
		t.Errorf("second Release: %v", err)
	}
}

func TestReleaseLeavesAReplacedMountAlone(t *testing.T) {
	l := fstest.LoopImage(t, 64)
	log, _ := testLogger(t)
	target := t.TempDir()
	p, err := Prepare(context.Background(), []Volume{{Path: target, Device: l.Dev, FSType: "ext4"}}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fstest.UnmountIfMounted(t, target) })
	if err := unix.Mount("tmpfs", target, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	if err := p.Release(context.Background()); err == nil || !strings.Contains(err.Error(), "no longer the one") {
		t.Errorf("Release: %v", err)
	}
	if m := mountOf(t, target); m.FSType != "tmpfs" {
		t.Errorf("Release unmounted the tmpfs over the guarded mount")
	}
}

func TestWatchFilesystemShutDown(t *testing.T) {
	for _, c := range []struct {
		fstype string
		sizeMB int
		says   string
	}{
		{"ext4", 64, "filesystem shut down"}, // the mount table says so
		{"xfs", 320, "stat: input/output error (EIO)"},
	} {
		t.Run(c.fstype, func(t *testing.T) {
			l := fstest.LoopImageOf(t, c.sizeMB, c.fstype, nil)
			log, _ := testLogger(t)
			target := t.TempDir()
			p, err := Prepare(context.Background(), []Volume{{Path: target, Device: l.Dev, FSType: c.fstype}}, log)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { fstest.UnmountIfMounted(t, target) })
			w := watch(t, p, testTimeout)
			if err := fstest.Shutdown(target); err != nil {
				t.Fatal(err)
			}
			if err := waitLost(t, w, detectWithin); !strings.Contains(err.Error(), c.says) {
				t.Errorf("got %v, want %q", err, c.says)
			}
			w.Stop()
			err = p.Release(context.Background())
			if fstest.IsMountPoint(target) {
				t.Errorf("still mounted after Release: %v", err)
			}
		})
	}
}
