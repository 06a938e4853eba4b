package fsguard

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// device is a block device resolved to its node and number.
type device struct {
	Path string // the real node, symbolic links resolved (/dev/disk/by-id/x -> /dev/sdb)
	Rdev uint64 // major:minor
	Size uint64 // bytes
}

func (d device) String() string {
	return fmt.Sprintf("%s (%d:%d)", d.Path, unix.Major(d.Rdev), unix.Minor(d.Rdev))
}

// resolveDevice resolves name (a /dev path or a /dev/disk/by-* link) to its
// node and checks that it is a block device.
func resolveDevice(name string) (device, error) {
	real, err := filepath.EvalSymlinks(name)
	if err != nil {
		return device{}, refusef("device %s: %w", name, err)
	}
	var st unix.Stat_t
	if err := unix.Stat(real, &st); err != nil {
		return device{}, refusef("device %s: %w", name, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return device{}, refusef("device %s (%s) is not a block device", name, real)
	}
	return device{Path: real, Rdev: st.Rdev}, nil
}

// measure reads the size of the device, which must not be zero. The device
// is opened with O_EXCL, which fails with EBUSY while it is mounted anywhere
// on this host or claimed by device-mapper, md or the like: the check is
// local to this host, only the lock says no other node uses it (I4).
func (d *device) measure() error {
	fd, err := openExclusive(d.Path)
	if errors.Is(err, unix.EBUSY) {
		return refusef("device %s is in use on this host (mounted, or held by another kernel user)", d)
	}
	if err != nil {
		return refusef("device %s: open: %w", d, err)
	}
	defer unix.Close(fd)
	if d.Size, err = blockSize(fd); err != nil {
		return refusef("device %s: size: %w", d, err)
	}
	if d.Size == 0 {
		return refusef("device %s has size 0 (no medium, or an unattached loop device)", d)
	}
	return nil
}

// claimRetryFor is how long an exclusive open is retried on EBUSY. The kernel
// can drop a filesystem's claim on its device a moment after umount(2)
// returns (seen: about 10 ms under load), so a holder that just released the
// device on this host must not make the next one fail. Retrying only waits:
// a device still busy after this is refused.
const claimRetryFor = 2 * time.Second

// openExclusive opens the device with O_EXCL, retrying EBUSY briefly.
func openExclusive(path string) (int, error) {
	deadline := time.Now().Add(claimRetryFor)
	for {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_EXCL|unix.O_CLOEXEC, 0)
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			return fd, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mountsOf lists the mounts of the device in the table: those whose
// major:minor is the device's, and those whose source is a /dev node of the
// same number (a source outside /dev is never stat'ed: it could sit on a
// hung mount).
func mountsOf(table []mountEntry, d device) []mountEntry {
	var out []mountEntry
	for _, e := range table {
		if e.Major == unix.Major(d.Rdev) && e.Minor == unix.Minor(d.Rdev) {
			out = append(out, e)
			continue
		}
		if strings.HasPrefix(e.Source, "/dev/") && sameDevice(e.Source, d.Rdev) {
			out = append(out, e)
		}
	}
	return out
}

func sameDevice(node string, rdev uint64) bool {
	var st unix.Stat_t
	return unix.Stat(node, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFBLK && st.Rdev == rdev
}

// checkNotMounted refuses a device that is mounted anywhere on this host,
// the target path included. A mount already at the target is refused too,
// not adopted: zkfence cannot tell who made it, it cannot be checked while
// mounted, a process of a previous holder may still write through it, and
// its page cache may predate writes another node made since (I4).
func checkNotMounted(d device, target string) error {
	table, err := readMountinfo()
	if err != nil {
		return refusef("device %s: %w", d, err)
	}
	if ms := mountsOf(table, d); len(ms) > 0 {
		var at []string
		for _, m := range ms {
			at = append(at, m.MountPoint)
		}
		return refusef("device %s is already mounted on this host at %s; zkfence checks and mounts only a device "+
			"that is not mounted (unmount it first; a mount at the target itself is refused too)", d, strings.Join(at, ", "))
	}
	if m, ok := mountAt(table, target); ok {
		return refusef("%s is already a mount point (%s from %s); refusing to mount %s over it", target, m.FSType, m.Source, d)
	}
	return nil
}

// checkTarget requires the mount target to be an existing directory.
func checkTarget(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return refusef("mount target: %w", err)
	}
	if !fi.IsDir() {
		return refusef("mount target %s is not a directory", path)
	}
	return nil
}

// blockSize asks the kernel for the size of an open block device in bytes.
func blockSize(fd int) (uint64, error) {
	var size uint64
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.BLKGETSIZE64, uintptr(unsafe.Pointer(&size)))
	if errno != 0 {
		return 0, errno
	}
	return size, nil
}
