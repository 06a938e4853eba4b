package restore

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestIsMountPoint: a bind mount of the same filesystem is a mount point
// (st_dev alone would miss it); a plain directory, and a symlink to one, are
// not; a symlink to a mount point is one.
func TestIsMountPoint(t *testing.T) {
	root := t.TempDir()
	src, bind, plain := filepath.Join(root, "src"), filepath.Join(root, "bind"), filepath.Join(root, "plain")
	for _, d := range []string{src, bind, plain} {
		must(t, os.Mkdir(d, 0o755))
	}
	if out, err := exec.Command("mount", "--bind", src, bind).CombinedOutput(); err != nil {
		t.Fatalf("mount --bind (the tests run as root): %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", bind).Run() })
	must(t, os.Symlink(bind, filepath.Join(root, "to-bind")))
	must(t, os.Symlink(plain, filepath.Join(root, "to-plain")))
	for dir, want := range map[string]bool{bind: true, "to-bind": true, plain: false, "to-plain": false, src: false} {
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(root, dir)
		}
		if got, err := isMountPoint(dir); err != nil || got != want {
			t.Errorf("isMountPoint(%s) = %v, %v; want %v", dir, got, err, want)
		}
	}
	if _, err := isMountPoint(filepath.Join(root, "missing")); err == nil {
		t.Error("isMountPoint of a missing directory: no error")
	}
}
