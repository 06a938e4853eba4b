package fsguard

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zkfence/zkfence/internal/fstest"
)

func TestPrepareDeviceClean(t *testing.T) {
	l := fstest.LoopImage(t, 64)
	log, logs := testLogger(t)
	link := filepath.Join(t.TempDir(), "by-id-link") // like /dev/disk/by-id/...
	if err := os.Symlink(l.Dev, link); err != nil {
		t.Fatal(err)
	}
	target := t.TempDir()
	p, err := prepare(t, log, Volume{Path: target, Device: link, FSType: "ext4", MountOptions: "noatime,data=ordered"})
	if err != nil {
		t.Fatal(err)
	}
	m := mountOf(t, target)
	if m.Source != l.Dev || m.FSType != "ext4" || !slices.Contains(m.Options, "noatime") || !slices.Contains(m.SuperOptions, "data=ordered") {
		t.Errorf("mounted as %+v", m)
	}
	if !strings.Contains(logs.String(), "e2fsck -p "+l.Dev) || !strings.Contains(logs.String(), "code=0") {
		t.Errorf("no clean e2fsck -p in the logs")
	}
	if err := p.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fstest.IsMountPoint(target) {
		t.Fatal("still mounted after Release")
	}
	if err := p.Release(context.Background()); err != nil {
		t.Errorf("second Release: %v", err)
	}
}

func TestPrepareDeviceNeedingAFix(t *testing.T) {
	l := fstest.LoopImageOf(t, 64, "ext4", func(image string) error {
		if err := fstest.Ext4NeedsFix(image); err != nil {
			return err
		}
		code, out, err := fstest.E2fsckPreen(image)
		if err == nil && code != 1 {
			t.Fatalf("the damage makes e2fsck -p exit %d, want 1:\n%s", code, out)
		}
		return err
	})
	log, logs := testLogger(t)
	target := t.TempDir()
	if _, err := prepare(t, log, Volume{Path: target, Device: l.Dev, FSType: "ext4"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `code=1 meaning="errors corrected"`) {
		t.Errorf("e2fsck exit 1 not in the logs")
	}
	if _, err := os.Stat(filepath.Join(target, "victim")); err != nil {
		t.Errorf("the repaired file: %v", err)
	}
}

func TestPrepareDeviceCorruptIsRefused(t *testing.T) {
	l := fstest.LoopImageOf(t, 64, "ext4", func(image string) error {
		if err := fstest.Ext4Corrupt(image); err != nil {
			return err
		}
		code, out, err := fstest.E2fsckPreen(image)
		if err == nil && code != 4 {
			t.Fatalf("the damage makes e2fsck -p exit %d, want 4:\n%s", code, out)
		}
		return err
	})
	log, _ := testLogger(t)
	target := t.TempDir()
	_, err := prepare(t, log, Volume{Path: target, Device: l.Dev, FSType: "ext4"})
	mustRefuse(t, err, "e2fsck -p "+l.Dev, "exited 4", "UNEXPECTED INCONSISTENCY")
	if fstest.IsMountPoint(target) {
		t.Error("a corrupt device was mounted")
	}
}

func TestPrepareDeviceMountedElsewhereIsNeverChecked(t *testing.T) {
	l := fstest.LoopImage(t, 64)
	spy, err := fstest.NewFsckSpy(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", spy.Dir+":"+os.Getenv("PATH"))
	elsewhere := fstest.Mount(t, l.Dev, "ext4", "")
	log, _ := testLogger(t)
	target := t.TempDir()
	_, err = prepare(t, log, Volume{Path: target, Device: l.Dev, FSType: "ext4"})
	mustRefuse(t, err, "already mounted", elsewhere)
	// The same device, mounted at the target itself, is refused too.
	_, err = prepare(t, log, Volume{Path: elsewhere, Device: l.Dev, FSType: "ext4"})
	mustRefuse(t, err, "already mounted", elsewhere)
	if calls := spy.Calls(); len(calls) != 0 {
		t.Errorf("a checker ran on a mounted device: %q", calls)
	}
	// The spy itself works: a free device is checked through it.
	free := fstest.LoopImage(t, 64)
	if _, err := prepare(t, log, Volume{Path: target, Device: free.Dev, FSType: "ext4"}); err != nil {
		t.Fatal(err)
	}
	if calls := spy.Calls(); len(calls) != 1 || !strings.Contains(calls[0], "e2fsck -p "+free.Dev) {
		t.Errorf("spy recorded %q", calls)
	}
}

func TestPrepareDeviceRefusals(t *testing.T) {
	fstest.RequireRoot(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	l := fstest.LoopImage(t, 64)
	occupied := fstest.Mount(t, "tmpfs", "tmpfs", "size=1m")
	log, _ := testLogger(t)
	cases := []struct {
		name  string
		v     Volume
		parts []string
	}{
		{"not a block device", Volume{Path: dir, Device: file, FSType: "ext4"}, []string{"not a block device"}},
		{"missing device", Volume{Path: dir, Device: "/dev/zkfence-none", FSType: "ext4"}, []string{"no such file"}},
		{"missing target", Volume{Path: filepath.Join(dir, "none"), Device: l.Dev, FSType: "ext4"}, []string{"mount target"}},
		{"target is a file", Volume{Path: file, Device: l.Dev, FSType: "ext4"}, []string{"not a directory"}},
		{"target already a mount point", Volume{Path: occupied, Device: l.Dev, FSType: "ext4"}, []string{"already a mount point"}},
		{"wrong type", Volume{Path: dir, Device: l.Dev, FSType: "xfs"}, []string{"xfs_repair -n " + l.Dev}},
		{"min free too big", Volume{Path: dir, Device: l.Dev, FSType: "ext4", MinFree: 1 << 40}, []string{"bytes available"}},
		{"bad fs option", Volume{Path: dir, Device: l.Dev, FSType: "ext4", MountOptions: "nosuchoption"}, []string{"mount " + l.Dev}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := prepare(t, log, c.v)
			mustRefuse(t, err, c.parts...)
			if fstest.IsMountPoint(dir) || len(fstest.MountPointsOf(l.Dev)) != 0 {
				t.Errorf("left mounted: %v", fstest.MountPointsOf(l.Dev))
			}
		})
	}
}

func TestPrepareDeviceNotAfterCancel(t *testing.T) {
	l := fstest.LoopImage(t, 64)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the lock was lost before storage was prepared
	log, _ := testLogger(t)
	p, err := Prepare(ctx, []Volume{{Path: t.TempDir(), Device: l.Dev, FSType: "ext4"}}, log)
	mustRefuse(t, err, "not prepared", "context canceled")
	if p != nil || len(fstest.MountPointsOf(l.Dev)) != 0 {
		t.Error("prepared after cancel")
	}
}

func TestPrepareUndoesEarlierVolumesOnFailure(t *testing.T) {
	l := fstest.LoopImage(t, 64)
	log, _ := testLogger(t)
	data, notAMount := t.TempDir(), t.TempDir()
	_, err := prepare(t, log,
		Volume{Path: data, Device: l.Dev, FSType: "ext4"},
		Volume{Path: notAMount})
	mustRefuse(t, err, "not a mount point")
	if fstest.IsMountPoint(data) {
		t.Error("the first volume stayed mounted")
	}
}

func TestPrepareXFS(t *testing.T) {
	t.Run("clean", func(t *testing.T) {
		l := fstest.LoopImageOf(t, 320, "xfs", nil)
		log, logs := testLogger(t)
		if _, err := prepare(t, log, Volume{Path: t.TempDir(), Device: l.Dev, FSType: "xfs"}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logs.String(), "xfs_repair -n") {
			t.Error("xfs_repair -n did not run")
		}
	})
	t.Run("dirty log is replayed then checked", func(t *testing.T) {
		l := fstest.LoopImageOf(t, 320, "xfs", nil)
		if err := fstest.XFSDirtyLog(l.Dev); err != nil {
			t.Fatal(err)
		}
		if code, out, _ := fstest.XFSRepairCheck(l.Dev); code != 1 || !strings.Contains(out, xfsDirtyLog) {
			t.Fatalf("xfs_repair -n on the dirty log: exit %d:\n%s", code, out)
		}
		log, logs := testLogger(t)
		target := t.TempDir()
		if _, err := prepare(t, log, Volume{Path: target, Device: l.Dev, FSType: "xfs"}); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(logs.String(), "xfs_repair -n"); n < 2 || !strings.Contains(logs.String(), "replay") {
			t.Errorf("want a replay and two checks, logs:\n%s", logs)
		}
		if _, err := os.Stat(filepath.Join(target, "f99")); err != nil {
			t.Errorf("the replayed file: %v", err)
		}
	})
}

// mountOf returns the mount at path, which must exist.
func mountOf(t *testing.T, path string) mountEntry {
	t.Helper()
	table, err := readMountinfo()
	if err != nil {
		t.Fatal(err)
	}
	m, ok := mountAt(table, path)
	if !ok {
		t.Fatalf("%s is not mounted", path)
	}
	return m
}

func TestPrepareDeviceAfterACrash(t *testing.T) {
	l := fstest.Ext4Crashed(t, 64)
	if out, _ := exec.Command("dumpe2fs", "-h", l.Dev).Output(); !strings.Contains(string(out), "needs_recovery") {
		t.Fatalf("the crash left no journal to recover:\n%s", out)
	}
	log, logs := testLogger(t)
	target := t.TempDir()
	if _, err := prepare(t, log, Volume{Path: target, Device: l.Dev, FSType: "ext4"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "e2fsck -p") {
		t.Error("e2fsck did not run")
	}
	if b, err := os.ReadFile(filepath.Join(target, "f19")); err != nil || string(b) != "acknowledged\n" {
		t.Errorf("a file fsynced before the crash: %q, %v", b, err)
	}
}

// TestPrepareDeviceDropsWhatThisHostCached: this host held the device
// before (any opener that stayed: a multipath daemon, a monitoring tool, a
// device never detached, as a shared LUN under fence_scsi never is), so the
// kernel still caches its blocks as they were then. Another node has since
// written to it. The checker and the mount must read the device as it is
// now, not as this host last saw it: a mount of stale metadata would write
// the old node's view back over the new node's data. (For ext4 this holds
// because e2fsck drops the device's buffers, BLKFLSBUF, when it closes it;
// a checker that did not would fail here.)
func TestPrepareDeviceDropsWhatThisHostCached(t *testing.T) {
	l := fstest.LoopImage(t, 32)
	// Another opener on this host reads the whole device: every block is
	// now in this host's cache for the device.
	held, err := os.Open(l.Dev)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if _, err := io.Copy(io.Discard, held); err != nil {
		t.Fatal(err)
	}
	// "Another node" writes a file, straight to the export (the image),
	// past this host's cache for the device.
	marker := filepath.Join(t.TempDir(), "marker")
	if err := os.WriteFile(marker, []byte("written by the other node\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("debugfs", "-w", "-R", "write "+marker+" marker", l.Image).CombinedOutput(); err != nil {
		t.Fatalf("debugfs: %v\n%s", err, out)
	}
	log, _ := testLogger(t)
	target := t.TempDir()
	p, err := prepare(t, log, Volume{Path: target, Device: l.Dev, FSType: "ext4"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Release(context.Background())
	data, err := os.ReadFile(filepath.Join(target, "marker"))
	if err != nil || string(data) != "written by the other node\n" {
		t.Fatalf("the mount shows the device as this host cached it, not as it is: marker %q, %v", data, err)
	}
}
