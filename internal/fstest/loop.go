package fstest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Loop is a filesystem image attached to a loop device.
type Loop struct {
	Image string // the image file
	Dev   string // /dev/loopN
}

// MakeImage creates a sparse image of sizeMB MiB in dir and makes a
// filesystem of type fstype (ext2/3/4, xfs) on it. xfs needs 300 MiB or more.
func MakeImage(dir string, sizeMB int, fstype string) (string, error) {
	f, err := os.CreateTemp(dir, fstype+"-*.img")
	if err != nil {
		return "", err
	}
	image := f.Name()
	err = f.Truncate(int64(sizeMB) << 20)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	switch fstype {
	case "xfs":
		_, err = run("mkfs.xfs", "-q", "-f", image)
	default:
		_, err = run("mkfs."+fstype, "-q", "-F", image)
	}
	return image, err
}

// NewLoop attaches image to the first free loop device.
func NewLoop(image string) (*Loop, error) {
	dev, err := run("losetup", "--find", "--show", image)
	if err != nil {
		return nil, err
	}
	return &Loop{Image: image, Dev: dev}, nil
}

// Detach detaches the loop device (it must not be mounted any more).
func (l *Loop) Detach() error {
	_, err := run("losetup", "--detach", l.Dev)
	return err
}

// LoopImage makes an ext4 image of sizeMB MiB in a temporary directory and
// attaches it; the device is detached when the test ends.
func LoopImage(t testing.TB, sizeMB int) *Loop {
	t.Helper()
	return LoopImageOf(t, sizeMB, "ext4", nil)
}

// LoopImageOf is LoopImage for any type, with prepare run on the image file
// before it is attached (to damage it, for example); prepare may be nil.
func LoopImageOf(t testing.TB, sizeMB int, fstype string, prepare func(image string) error) *Loop {
	t.Helper()
	RequireRoot(t)
	image, err := MakeImage(t.TempDir(), sizeMB, fstype)
	if err != nil {
		t.Fatal(err)
	}
	if prepare != nil {
		if err := prepare(image); err != nil {
			t.Fatal(err)
		}
	}
	return attachLoop(t, image)
}

// attachLoop attaches image as a loop device, detached when the test ends.
func attachLoop(t testing.TB, image string) *Loop {
	t.Helper()
	l, err := NewLoop(image)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Detach(); err != nil {
			t.Errorf("detach %s: %v", l.Dev, err)
		}
	})
	return l
}

// Ext4NeedsFix damages an unmounted ext4 image so that `e2fsck -p` repairs it
// and exits 1: a file's link count is set to 5 (it has one name) and the
// superblock's state to "has errors", which forces a full check.
func Ext4NeedsFix(image string) error {
	return debugfs(image, "write /etc/os-release victim", "sif victim links_count 5", "ssv state 2")
}

// Ext4Corrupt damages an unmounted ext4 image beyond what `e2fsck -p` may
// fix: the root inode is cleared, and `e2fsck -p` exits 4 ("UNEXPECTED
// INCONSISTENCY; RUN fsck MANUALLY").
func Ext4Corrupt(image string) error {
	return debugfs(image, "clri <2>", "ssv state 2")
}

// debugfs runs commands against an unmounted ext2/3/4 image, read-write.
func debugfs(image string, cmds ...string) error {
	script := filepath.Join(filepath.Dir(image), filepath.Base(image)+".debugfs")
	var body []byte
	for _, c := range cmds {
		body = append(body, c+"\n"...)
	}
	if err := os.WriteFile(script, body, 0o600); err != nil {
		return err
	}
	defer os.Remove(script)
	_, err := run("debugfs", "-w", "-f", script, image)
	return err
}

// E2fsckPreen runs `e2fsck -p` on a sparse copy of an unmounted image and
// returns its exit code and output, so that a test can assert what a damage
// helper really does without changing the image.
func E2fsckPreen(image string) (int, string, error) {
	dir, err := os.MkdirTemp(filepath.Dir(image), "e2fsck-copy-")
	if err != nil {
		return -1, "", err
	}
	defer os.RemoveAll(dir)
	cp := filepath.Join(dir, "copy.img")
	if _, err := run("cp", "--sparse=always", image, cp); err != nil {
		return -1, "", err
	}
	code, out, err := exitCode("e2fsck", "-p", cp)
	if err != nil {
		return code, out, fmt.Errorf("e2fsck: %w", err)
	}
	return code, out, nil
}
