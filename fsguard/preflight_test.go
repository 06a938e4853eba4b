package fsguard

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/zkfence/zkfence/internal/fstest"
)

func TestPreflightChangesNothing(t *testing.T) {
	fstest.RequireRoot(t)
	clean := fstest.LoopImage(t, 64)
	corrupt := fstest.LoopImageOf(t, 64, "ext4", fstest.Ext4Corrupt)
	spy, err := fstest.NewFsckSpy(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", spy.Dir+":"+os.Getenv("PATH"))
	fuse := fstest.BindFS(t, t.TempDir())
	target := t.TempDir()
	vols := []Volume{
		{Path: fuse.Mnt, FSType: "fuse*"},
		{Path: target, Device: clean.Dev, FSType: "ext4"},
		{Path: t.TempDir()}, // a plain directory
		{Path: target, Device: corrupt.Dev, FSType: "ext4"},
	}
	ok, problems := Preflight(context.Background(), vols)
	if len(ok) != 2 || !strings.Contains(ok[1], "e2fsck -n") {
		t.Fatalf("passed: %q, want the FUSE mount and the clean device (checked with e2fsck -n)", ok)
	}
	if len(problems) != 2 || !errors.Is(problems[0], ErrStorageRefused) ||
		!strings.Contains(problems[0].Error(), "not a mount point") || !strings.Contains(problems[1].Error(), "would refuse") {
		t.Fatalf("problems: %v", problems)
	}
	for _, call := range spy.Calls() {
		if !strings.Contains(call, " -n ") {
			t.Fatalf("a checker ran in a changing mode: %q", call)
		}
	}
	if fstest.IsMountPoint(target) {
		t.Fatal("preflight mounted the device")
	}
	if code, _, err := fstest.E2fsckPreen(corrupt.Image); err != nil || code < 4 {
		t.Fatalf("the corrupt image changed under preflight: e2fsck -p exit %d, %v", code, err)
	}
}
