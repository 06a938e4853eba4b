package fstest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// NetworkDevice is a block device that can lose its server: a loop device,
// with direct I/O, whose backing file lives on a bindfs mount. Kill the
// daemon and every read of the device fails with EIO; freeze it and every
// read blocks, like an NBD or iSCSI device whose server is gone. The
// filesystem on it answers statfs from memory all the while.
type NetworkDevice struct {
	*Loop
	Server *BindMount
}

// NetworkBlockDevice makes an ext4 NetworkDevice of sizeMB MiB. When the test
// ends the daemon is resumed, then the device detached, then the daemon
// stopped: unmount the device's filesystem before that.
func NetworkBlockDevice(t testing.TB, sizeMB int) *NetworkDevice {
	t.Helper()
	RequireRoot(t)
	src := t.TempDir()
	server := BindFS(t, src)
	if _, err := MakeImage(src, sizeMB, "ext4"); err != nil {
		t.Fatal(err)
	}
	images, _ := filepath.Glob(filepath.Join(server.Mnt, "ext4-*.img"))
	if len(images) != 1 {
		t.Fatalf("image not found through the bindfs mount %s", server.Mnt)
	}
	dev, err := run("losetup", "--find", "--show", "--direct-io=on", images[0])
	if err != nil {
		t.Fatal(err)
	}
	nd := &NetworkDevice{Loop: &Loop{Image: images[0], Dev: dev}, Server: server}
	t.Cleanup(func() {
		_ = server.Thaw()
		if err := nd.Detach(); err != nil {
			t.Errorf("detach %s: %v", dev, err)
		}
	})
	return nd
}

// Ext4Crashed returns a loop device with an ext4 left as a node crash leaves
// it: files were written and fsynced through a NetworkDevice-like loop whose
// server then died, so the journal needs recovery (needs_recovery is set).
// `e2fsck -p` replays the journal and the files are there.
func Ext4Crashed(t testing.TB, sizeMB int) *Loop {
	t.Helper()
	RequireRoot(t)
	src, mnt, dir := t.TempDir(), t.TempDir(), t.TempDir()
	image, err := MakeImage(src, sizeMB, "ext4")
	if err != nil {
		t.Fatal(err)
	}
	server, err := StartBindFS(src, mnt)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	dev, err := run("losetup", "--find", "--show", "--direct-io=on", filepath.Join(mnt, filepath.Base(image)))
	if err != nil {
		t.Fatal(err)
	}
	crash := func() error {
		defer run("losetup", "--detach", dev)
		if _, err := run("mount", "-t", "ext4", dev, dir); err != nil {
			return err
		}
		defer unix.Unmount(dir, 0)
		for i := range 20 {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d", i)), []byte("acknowledged\n"), 0o644); err != nil {
				return err
			}
		}
		if _, err := run("sync", "--file-system", dir); err != nil {
			return err
		}
		return server.Kill() // the server dies; nothing more reaches the image
	}
	if err := crash(); err != nil {
		t.Fatal(err)
	}
	return attachLoop(t, image)
}
