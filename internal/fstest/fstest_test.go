package fstest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestExt4DamageHelpers(t *testing.T) {
	RequireRoot(t)
	for _, c := range []struct {
		name   string
		damage func(string) error
		want   int
	}{
		{"clean", nil, 0},
		{"needs a fix", Ext4NeedsFix, 1},
		{"corrupt", Ext4Corrupt, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			image, err := MakeImage(t.TempDir(), 32, "ext4")
			if err != nil {
				t.Fatal(err)
			}
			if c.damage != nil {
				if err := c.damage(image); err != nil {
					t.Fatal(err)
				}
			}
			code, out, err := E2fsckPreen(image)
			if err != nil || code != c.want {
				t.Errorf("e2fsck -p: exit %d (%v), want %d:\n%s", code, err, c.want, out)
			}
		})
	}
}

func TestLoopAndMount(t *testing.T) {
	l := LoopImage(t, 32)
	dir := Mount(t, l.Dev, "ext4", "noatime")
	if !IsMountPoint(dir) {
		t.Fatalf("%s not listed as a mount point", dir)
	}
	if got := MountPointsOf(l.Dev); len(got) != 1 || got[0] != dir {
		t.Errorf("MountPointsOf(%s) = %v", l.Dev, got)
	}
	if err := RemountRO(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o600); err == nil {
		t.Error("wrote to a read-only remount")
	}
}

func TestBindFSLifecycle(t *testing.T) {
	src := t.TempDir()
	b := BindFS(t, src)
	if err := os.WriteFile(filepath.Join(b.Mnt, "through"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(src, "through")); err != nil {
		t.Errorf("write through bindfs: %v", err)
	}
	if err := b.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(b.Mnt, "through")); err == nil || !strings.Contains(err.Error(), "not connected") {
		t.Errorf("stat after the daemon died: %v", err)
	}
	if err := b.Close(); err != nil || IsMountPoint(b.Mnt) {
		t.Errorf("Close: %v, mounted: %v", err, IsMountPoint(b.Mnt))
	}
}

func TestFsckSpy(t *testing.T) {
	RequireRoot(t)
	dir := t.TempDir()
	spy, err := NewFsckSpy(dir)
	if err != nil {
		t.Fatal(err)
	}
	image, err := MakeImage(dir, 32, "ext4")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(spy.Dir, "e2fsck"), "-p", image)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if calls := spy.Calls(); len(calls) != 1 || !strings.HasSuffix(calls[0], "e2fsck -p "+image) {
		t.Errorf("calls: %q", calls)
	}
}
