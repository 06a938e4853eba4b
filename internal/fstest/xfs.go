package fstest

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// XFSDirtyLog leaves the xfs on dev (unmounted) with a dirty log, as a crash
// does: files are created, the log is forced to disk, and the filesystem is
// shut down before the changes are written in place. `xfs_repair -n` then
// exits 1 and asks for the log to be replayed by a mount.
func XFSDirtyLog(dev string) error {
	dir, err := os.MkdirTemp("", "fstest-xfs-")
	if err != nil {
		return err
	}
	defer os.Remove(dir)
	if err := unix.Mount(dev, dir, "xfs", 0, ""); err != nil {
		return fmt.Errorf("mount %s: %w", dev, err)
	}
	defer unix.Unmount(dir, 0)
	for i := range 100 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d", i)), nil, 0o644); err != nil {
			return err
		}
	}
	last, err := os.Open(filepath.Join(dir, "f99"))
	if err != nil {
		return err
	}
	err = last.Sync()
	last.Close()
	if err != nil {
		return err
	}
	return Shutdown(dir)
}

// XFSRepairCheck runs `xfs_repair -n` on dev and returns its exit code and
// output.
func XFSRepairCheck(dev string) (int, string, error) {
	return exitCode("xfs_repair", "-n", dev)
}
