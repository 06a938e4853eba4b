// Package fstest makes the real kernel objects that fsguard's tests, and the
// end-to-end tests of `zkfence run`, need: loop-device filesystem images
// (clean, needing a fix, corrupt beyond `e2fsck -p`, xfs with a dirty log),
// bindfs FUSE mounts whose daemon a test can kill or stop, remounts and lazy
// unmounts, and a spy that records every fsck a process runs.
//
// Everything here needs root, losetup, mkfs.ext4, debugfs, e2fsck, bindfs and
// /dev/fuse (scripts/install-deps.sh installs them). The helpers that take a
// testing.TB register their cleanup with it, in an order that unmounts and
// detaches before any temporary directory is removed (t.Cleanup runs last in,
// first out, so every helper asks for its t.TempDir first). The helpers that
// do not (StartBindFS, NewLoop, ...) are for programs such as the benchmark.
//
// fstest does not import fsguard, so fsguard's own tests can use it.
package fstest
