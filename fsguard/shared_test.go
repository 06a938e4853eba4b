package fsguard

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/zkfence/zkfence/internal/fstest"
	"golang.org/x/sys/unix"
)

func TestPrepareSharedBindFS(t *testing.T) {
	src := t.TempDir()
	b := fstest.BindFS(t, src)
	log, _ := testLogger(t)
	link := filepath.Join(t.TempDir(), "data") // a symbolic link to the mount point
	if err := os.Symlink(b.Mnt, link); err != nil {
		t.Fatal(err)
	}
	p, err := prepare(t, log, Volume{Path: link, FSType: "fuse*", Source: src + "/", MinFree: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Paths(); len(got) != 1 || got[0] != b.Mnt {
		t.Errorf("Paths() = %v, want [%s]", got, b.Mnt)
	}
	left, _ := filepath.Glob(filepath.Join(src, probeFilePrefix+"*"))
	if len(left) != 0 {
		t.Errorf("write probe left %v", left)
	}
	if err := p.Release(context.Background()); err != nil || !fstest.IsMountPoint(b.Mnt) {
		t.Errorf("Release of a mount zkfence did not make: %v, still mounted: %v", err, fstest.IsMountPoint(b.Mnt))
	}
}

func TestPrepareSharedRefusals(t *testing.T) {
	src := t.TempDir()
	if err := os.Mkdir(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	b := fstest.BindFS(t, src)
	l := fstest.LoopImage(t, 64)
	ro := fstest.Mount(t, l.Dev, "ext4", "ro")
	log, _ := testLogger(t)
	cases := []struct {
		name  string
		v     Volume
		parts []string
	}{
		{"plain directory", Volume{Path: t.TempDir()}, []string{"not a mount point"}},
		{"a directory inside a mount", Volume{Path: filepath.Join(b.Mnt, "sub")}, []string{"not a mount point"}},
		{"missing path", Volume{Path: filepath.Join(src, "none")}, []string{"no such file"}},
		{"wrong type", Volume{Path: b.Mnt, FSType: "nfs4"}, []string{"type fuse, want nfs4"}},
		{"fuse.* is not fuse", Volume{Path: b.Mnt, FSType: "fuse.*"}, []string{"want fuse.*"}},
		{"wrong source", Volume{Path: b.Mnt, Source: "/elsewhere"}, []string{"mounted from " + src}},
		{"read-only", Volume{Path: ro}, []string{"read-only"}},
		{"min free too big", Volume{Path: b.Mnt, MinFree: 1 << 60}, []string{"bytes available"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := prepare(t, log, c.v)
			mustRefuse(t, err, c.parts...)
		})
	}
}

func TestPrepareSharedBindMountCounts(t *testing.T) {
	l := fstest.LoopImage(t, 64)
	disk := fstest.Mount(t, l.Dev, "ext4", "")
	sub := filepath.Join(disk, "pgdata")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	target := t.TempDir()
	if err := unix.Mount(sub, target, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fstest.UnmountIfMounted(t, target) })
	log, _ := testLogger(t)
	if _, err := prepare(t, log, Volume{Path: target, FSType: "ext4", Source: l.Dev}); err != nil {
		t.Fatal(err)
	}
	fstest.BindRO(t, target) // a read-only bind over it: the mount is ro, the superblock is not
	_, err := prepare(t, log, Volume{Path: target})
	mustRefuse(t, err, "read-only")
}

func TestPrepareSharedHungMountDoesNotHang(t *testing.T) {
	src := t.TempDir()
	b := fstest.BindFS(t, src)
	if err := b.Freeze(); err != nil {
		t.Fatal(err)
	}
	log, _ := testLogger(t)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Prepare(ctx, []Volume{{Path: b.Mnt}}, log)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Prepare on a hung mount took %s", took)
	}
	if err == nil {
		t.Fatal("a hung mount was accepted")
	}
	if err := b.Thaw(); err != nil { // lets the abandoned check finish
		t.Fatal(err)
	}
}

// MountedShared finds a shared filesystem mounted now, through a link, of
// the expected type and source; nothing else (the fence record is read
// there before the lock's holder dealt with the previous one).
func TestMountedShared(t *testing.T) {
	src := t.TempDir()
	if err := os.Mkdir(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	b := fstest.BindFS(t, src)
	link := filepath.Join(t.TempDir(), "data")
	if err := os.Symlink(b.Mnt, link); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		v    Volume
		want string
	}{
		{"mounted, through a link", Volume{Path: link, FSType: "fuse*", Source: src + "/"}, b.Mnt},
		{"plain directory", Volume{Path: t.TempDir()}, ""},
		{"a directory inside a mount", Volume{Path: filepath.Join(b.Mnt, "sub")}, ""},
		{"missing path", Volume{Path: filepath.Join(src, "none")}, ""},
		{"wrong type", Volume{Path: b.Mnt, FSType: "nfs4"}, ""},
		{"wrong source", Volume{Path: b.Mnt, Source: "/elsewhere"}, ""},
		{"block device mode", Volume{Path: b.Mnt, Device: "/dev/loop0", FSType: "ext4"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := MountedShared(c.v)
			if got != c.want || ok != (c.want != "") {
				t.Errorf("MountedShared = %q, %v; want %q", got, ok, c.want)
			}
		})
	}
	if left, _ := os.ReadDir(src); len(left) != 1 {
		t.Errorf("the source holds %d entries after MountedShared, want only sub/: it wrote", len(left))
	}
}
