package fsguard

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// probeFilePrefix names the file the writability check creates in the mount
// root and removes at once; a random suffix means it never clobbers a file.
const probeFilePrefix = ".zkfence-probe-"

// checkMount checks the mount at path (symbolic links resolved): it is a
// mount point of the expected type and source, read-write, writable, with
// MinFree bytes available. It returns the mount's entry. It touches the
// filesystem: call it bounded.
func checkMount(v Volume, path string) (mountEntry, error) {
	m, err := inspectMount(v, path)
	if err != nil {
		return m, err
	}
	return m, writeProbe(path)
}

// inspectMount is checkMount without the write probe: it changes nothing.
func inspectMount(v Volume, path string) (mountEntry, error) {
	table, err := readMountinfo()
	if err != nil {
		return mountEntry{}, refusef("%s: %w", path, err)
	}
	m, ok := mountAt(table, path)
	if !ok {
		return m, refusef("%s is not a mount point (not listed in /proc/self/mountinfo)", path)
	}
	if !matchFSType(v.FSType, m.FSType) {
		return m, refusef("%s is mounted with type %s, want %s", path, m.FSType, v.FSType)
	}
	if v.Device == "" && v.Source != "" && !sameSource(v.Source, m.Source) {
		return m, refusef("%s is mounted from %s, want %s", path, m.Source, v.Source)
	}
	if why := m.unwritable(); why != "" {
		return m, refusef("%s: %s (%s; %s)", path, why, strings.Join(m.Options, ","), strings.Join(m.SuperOptions, ","))
	}
	if err := checkSpace(path, v.MinFree); err != nil {
		return m, err
	}
	return m, nil
}

// sameSource compares a mount's source with the expected one: equal, or
// equal after resolving symbolic links (/dev/disk/by-id/x and /dev/sdb) and
// ignoring a trailing slash (server:/export/ and server:/export).
func sameSource(want, got string) bool {
	trim := func(s string) string {
		if len(s) > 1 {
			return strings.TrimRight(s, "/")
		}
		return s
	}
	if trim(want) == trim(got) {
		return true
	}
	if !filepath.IsAbs(want) {
		return false
	}
	real, err := filepath.EvalSymlinks(want)
	return err == nil && trim(real) == trim(got)
}

// checkSpace refuses a filesystem with fewer than min bytes available.
func checkSpace(path string, min uint64) error {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return refusef("statfs %s: %w", path, err)
	}
	if st.Flags&unix.ST_RDONLY != 0 {
		return refusef("%s is read-only (statfs)", path)
	}
	if free := available(st); free < min {
		return refusef("%s has %d bytes available, want at least %d", path, free, min)
	}
	return nil
}

func available(st unix.Statfs_t) uint64 {
	unit := st.Frsize
	if unit <= 0 {
		unit = st.Bsize
	}
	return st.Bavail * uint64(unit)
}

// writeProbe creates a file in the mount root, writes, fsyncs, reads it back,
// and removes it.
func writeProbe(dir string) error {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	name := filepath.Join(dir, probeFilePrefix+hex.EncodeToString(rnd[:]))
	host, _ := os.Hostname()
	want := []byte(fmt.Sprintf("zkfence write probe: host %s pid %d\n", host, os.Getpid()))
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return refusef("%s is not writable: %w", dir, err)
	}
	_, werr := f.Write(want)
	serr := f.Sync()
	cerr := f.Close()
	got, rerr := os.ReadFile(name)
	uerr := os.Remove(name)
	for _, err := range []error{werr, serr, cerr, rerr, uerr} {
		if err != nil {
			return refusef("%s: write probe: %w", dir, err)
		}
	}
	if !bytes.Equal(got, want) {
		return refusef("%s: write probe read back %q, wrote %q", dir, got, want)
	}
	return nil
}

// MountedShared returns the mount point of a shared filesystem volume
// (Device == "") that is mounted now, of the expected type and source, with
// its symbolic links resolved; ok is false for a block device volume (its
// filesystem is not there before Prepare attaches and mounts it) and for a
// path that is not such a mount point. It writes nothing and runs no
// checker, so it may be called before the lock's holder has dealt with the
// previous one: to read the volume's fence record early. Resolving the path
// touches the filesystem: call it bounded.
func MountedShared(v Volume) (path string, ok bool) {
	if v.Device != "" {
		return "", false
	}
	path, err := filepath.EvalSymlinks(v.Path)
	if err != nil {
		return "", false
	}
	table, err := readMountinfo()
	if err != nil {
		return "", false
	}
	m, found := mountAt(table, path)
	if !found || !matchFSType(v.FSType, m.FSType) || v.Source != "" && !sameSource(v.Source, m.Source) {
		return "", false
	}
	return path, true
}
