package fsguard

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// deviceProbeSize is what the probe reads from a block device: one aligned
// block that suits both 512-byte and 4 KiB logical sectors.
const deviceProbeSize = 4096

// probe checks one guarded volume once, read-only: it never writes, so a
// probe every interval costs the disk nothing. It may block forever on a
// dead filesystem or device: run it only through guarded.probe (flight) and
// never wait for it past the timeout.
//
//  1. The mount table (reading it never touches the filesystem): the mount
//     at the path must still be the very mount Prepare found or made (same
//     mount ID, type and source), and still take writes (mountEntry.
//     unwritable). This catches an unmount, a lazy unmount (umount -l), a
//     mount over it, a remount read-only, and ext4's error and shutdown
//     states.
//  2. statfs of the mount point. It is never answered from a cache by FUSE
//     (FUSE_STATFS goes to the daemon) or NFS (an FSSTAT call to the server),
//     so it fails with ENOTCONN when the FUSE daemon is dead (ECONNABORTED
//     for a request in flight when it died), ESTALE or EIO when the server
//     says so, and blocks when the daemon is stopped or a hard-mounted server
//     is gone: the timeout turns that into a failure.
//  3. stat of the mount root: EIO from an xfs that shut itself down (its
//     statfs still answers), ESTALE from an NFS root handle gone stale.
//  4. Block device mode: one O_DIRECT read of the device, which bypasses the
//     page cache and so fails (EIO) or blocks when the device is gone; a
//     local filesystem answers statfs and stat from memory and would not
//     notice.
//
// A write+fsync probe is done once by Prepare, not here: it would force a
// journal commit (and on ext4 with data=ordered a flush of the child's dirty
// data) every interval, wearing the disk, and its latency under a database
// checkpoint can exceed any sensible timeout, killing a healthy child. The
// child's own writes fail on a volume that stops taking them, and ext4 and
// xfs turn write errors into a read-only or shut-down state, which steps 1
// and 3 catch.
//
// A step that fails for want of a local resource (IsLocalResourceError: the
// mount table cannot be opened with no descriptor left) measured nothing:
// the other steps still run (statfs and stat need no descriptor, so a dead
// or hung mount is still caught), and if none of them fails the probe
// returns ErrInconclusive, which is not a mount loss.
func (g *guarded) probeOnce() error {
	var local error
	inconclusive := func(err error) bool {
		if !IsLocalResourceError(err) {
			return false
		}
		if local == nil {
			local = err
		}
		return true
	}
	table, err := readMountinfo()
	switch {
	case inconclusive(err):
	case err != nil:
		return fmt.Errorf("read the mount table: %w", err)
	default:
		if err := g.checkMountEntry(table); err != nil {
			return err
		}
	}
	var st unix.Statfs_t
	if err := unix.Statfs(g.path, &st); err != nil && !inconclusive(err) {
		return fmt.Errorf("statfs: %w", errnoName(err))
	}
	if st.Flags&unix.ST_RDONLY != 0 {
		return errors.New("read-only (statfs)")
	}
	var root unix.Stat_t
	if err := unix.Stat(g.path, &root); err != nil && !inconclusive(err) {
		return fmt.Errorf("stat: %w", errnoName(err))
	}
	if g.dev != nil {
		if err := readDevice(g.dev.Path); err != nil && !inconclusive(err) {
			return err
		}
	}
	if local != nil {
		return fmt.Errorf("%w: %w", ErrInconclusive, errnoName(local))
	}
	return nil
}

// checkMountEntry checks, in the mount table, that the guarded mount is
// still the very one Prepare found or made and still takes writes.
func (g *guarded) checkMountEntry(table []mountEntry) error {
	m, ok := mountAt(table, g.path)
	switch {
	case !ok:
		return errors.New("no longer mounted (unmounted or lazily unmounted)")
	case m.ID != g.mount.ID:
		return fmt.Errorf("another mount (ID %d, %s from %s) replaced the guarded one (ID %d)", m.ID, m.FSType, m.Source, g.mount.ID)
	case m.FSType != g.mount.FSType || m.Source != g.mount.Source:
		return fmt.Errorf("mount changed from %s from %s to %s from %s", g.mount.FSType, g.mount.Source, m.FSType, m.Source)
	case m.unwritable() != "":
		return errors.New(m.unwritable())
	}
	return nil
}

// readDevice reads one block at offset 0 of the device with O_DIRECT.
func readDevice(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open device %s: %w", path, errnoName(err))
	}
	defer unix.Close(fd)
	buf := alignedBlock()
	n, err := unix.Pread(fd, buf, 0)
	if err != nil {
		return fmt.Errorf("read device %s: %w", path, errnoName(err))
	}
	if n != len(buf) {
		return fmt.Errorf("read device %s: short read (%d bytes)", path, n)
	}
	return nil
}

// alignedBlock returns a deviceProbeSize buffer aligned as O_DIRECT needs
// (Go's heap does not move objects, so the alignment holds).
func alignedBlock() []byte {
	b := make([]byte, 2*deviceProbeSize)
	off := int(uintptr(unsafe.Pointer(&b[0])) & (deviceProbeSize - 1))
	if off != 0 {
		off = deviceProbeSize - off
	}
	return b[off : off+deviceProbeSize]
}

// errnoError adds the errno's symbolic name (ENOTCONN) to its text and stays
// matchable with errors.Is(err, unix.ENOTCONN).
type errnoError struct{ unix.Errno }

func (e errnoError) Error() string {
	return fmt.Sprintf("%s (%s)", e.Errno.Error(), unix.ErrnoName(e.Errno))
}
func (e errnoError) Unwrap() error { return e.Errno }

func errnoName(err error) error {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return errnoError{errno}
	}
	return err
}
