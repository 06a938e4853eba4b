// Package fsguard checks, prepares and watches the storage a fenced child
// runs on (DESIGN.md, "Storage").
//
// Two modes, per Volume:
//
//   - Shared filesystem (NFS, GlusterFS, FUSE, an already mounted disk):
//     Volume.Path must be a mount point, found in /proc/self/mountinfo (never
//     by comparing st_dev, so bind mounts count), of the expected type and
//     source when given, read-write, writable (a probe file is written,
//     fsynced, read back and removed) and with Volume.MinFree bytes free.
//   - Block device (NBD, iSCSI, a cloud disk): Volume.Device must be a block
//     device of non-zero size, mounted nowhere on this host (the target path
//     included), and is checked with the checker of its filesystem type
//     (fsck.go), mounted at Volume.Path, then checked as above. Release syncs
//     and unmounts it.
//
// Invariants:
//
//   - I4: Prepare is the only function that runs a checker or mounts, and it
//     must be called with the lock held and a ctx that is cancelled when the
//     lock is lost: a running checker is stopped and nothing is mounted once
//     ctx is done. A device that is mounted anywhere on this host, or held by
//     another kernel user (O_EXCL open fails), is refused, never checked.
//   - I2: Prepare returns a *Prepared only when every volume passed; on any
//     failure it unmounts what it had mounted and returns an error wrapping
//     ErrStorageRefused. Validate needs no system call, so bad flags are
//     refused before ZooKeeper is contacted (I7).
//   - Release unmounts only what Prepare mounted, only while the mount at the
//     path is still the one Prepare made (same mount ID), in reverse order.
//     Call it after the child is dead and before the lock is released, so
//     that no other node can mount the device while this host still has it.
//
// The live probe (probe.go) and the watch (watch.go): a probe that never
// returns is the failure mode of a dead hard-mounted NFS server or a stopped
// FUSE daemon, so every system call that touches a guarded filesystem runs on
// a goroutine the caller does not wait on past its timeout. At most one probe
// per volume is in flight: a stuck probe pins its goroutine and one OS thread
// (in D or S state in the kernel) until the kernel lets go, and since a
// timeout ends the watch, a hung mount leaks at most one thread per volume.
// A probe in a child process (/proc/self/exe) would bound nothing more (a
// process stuck in D state cannot be reaped either) and costs a fork and exec
// every interval.
//
// In the run pipeline (the order is the invariants):
//
//	vols, probe := ...                        // Volume.Validate before ZooKeeper (I7)
//	// take the lock, then:
//	p, err := Prepare(ctx, vols, log)         // ctx cancelled on lease loss; err: exit 93
//	w := Watch(p, probe.Interval, probe.Timeout, log)
//	// start the child; in the watch select:
//	case <-w.Lost():                          // stop the child as on lock loss; exit 91
//	// on every way out, once the child tree is dead:
//	w.Stop(); p.Release(ctx)                  // then release the lock
package fsguard
