// Package durable writes files so that a crash leaves either the old content
// or the whole new one, makes directory entries durable, and reads and opens
// zkfence's own files on volumes that others can write (own.go): never
// through a symlink, never a FIFO or a device, never more than a bound.
package durable

import (
	"crypto/rand"
	"encoding/hex"
	"os"
)

// WriteFile writes dir/name through a temp file, fsync and rename, and
// fsyncs dir: readers see the old content or the whole new one.
func WriteFile(dir, name string, data []byte, perm os.FileMode) error {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer r.Close()
	return WriteFileIn(r, name, data, perm)
}

// WriteFileIn is WriteFile relative to r: the temp file is created with
// O_EXCL (never through a symlink), and the rename replaces whatever entry
// name was (a symlink is replaced, never followed). Nothing is written
// outside r's directory.
func WriteFileIn(r *os.Root, name string, data []byte, perm os.FileMode) error {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	tmp := "." + name + ".tmp-" + hex.EncodeToString(b[:])
	f, err := r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			r.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := r.Rename(tmp, name); err != nil {
		return err
	}
	ok = true
	return SyncIn(r, ".")
}

// SyncDir fsyncs a directory, making the entries in it durable.
func SyncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// SyncIn fsyncs name (a file or directory) in r.
func SyncIn(r *os.Root, name string) error {
	f, err := r.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
