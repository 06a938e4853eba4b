package fstest

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"unsafe"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// Mount mounts dev on a new temporary directory and returns the directory;
// it is unmounted (lazily, so that a broken mount cannot fail the cleanup)
// when the test ends.
func Mount(t testing.TB, dev, fstype, options string) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := run("mount", "-t", fstype, "-o", orDefaults(options), dev, dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { UnmountIfMounted(t, dir) })
	return dir
}

func orDefaults(o string) string {
	if o == "" {
		return "defaults"
	}
	return o
}

// UnmountIfMounted lazily unmounts every mount stacked at dir.
func UnmountIfMounted(t testing.TB, dir string) {
	t.Helper()
	for IsMountPoint(dir) {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
			return
		}
	}
}

// RemountRO remounts the filesystem at dir read-only, as
// `mount -o remount,ro` does.
func RemountRO(dir string) error {
	_, err := run("mount", "-o", "remount,ro", dir)
	return err
}

// BindRO makes dir a read-only bind mount of itself: the mount is read-only,
// its superblock is not.
func BindRO(t testing.TB, dir string) {
	t.Helper()
	if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
		t.Fatal(err)
	}
}

// LazyUnmount detaches the mount at dir at once (umount -l): open files keep
// the filesystem alive, but the path no longer leads to it.
func LazyUnmount(dir string) error {
	return unix.Unmount(dir, unix.MNT_DETACH)
}

// IsMountPoint reports whether this process's mount table lists dir as a
// mount point.
func IsMountPoint(dir string) bool {
	m, _ := mountinfo.GetMounts(mountinfo.SingleEntryFilter(dir))
	return len(m) > 0
}

// MountPointsOf lists the mount points whose source is dev.
func MountPointsOf(dev string) []string {
	m, _ := mountinfo.GetMounts(func(i *mountinfo.Info) (skip, stop bool) { return i.Source != dev, false })
	var out []string
	for _, i := range m {
		out = append(out, i.Mountpoint)
	}
	return out
}

// errNotMounted is returned by waits for a mount that does not appear.
var errNotMounted = errors.New("not mounted")

// Shutdown shuts the filesystem at dir down as a fatal error or a power cut
// would (FS_IOC_SHUTDOWN with NOLOGFLUSH, as xfs_io's shutdown; ext4 and
// xfs): what its log had not written is lost, and every later write fails.
// It makes the ioctl itself: xfs_io first walks every mount of the host and
// hangs on one that does not answer (another test's frozen FUSE daemon).
func Shutdown(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	flags := uint32(shutdownNoLogFlush)
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), fsIOCShutdown, uintptr(unsafe.Pointer(&flags))); errno != 0 {
		return fmt.Errorf("FS_IOC_SHUTDOWN %s: %w", dir, errno)
	}
	return nil
}

// FS_IOC_SHUTDOWN (_IOR('X', 125, __u32); XFS_IOC_GOINGDOWN, EXT4_IOC_SHUTDOWN)
// and its flag that drops the unwritten log.
const (
	fsIOCShutdown      = 0x8004587d
	shutdownNoLogFlush = 2
)
