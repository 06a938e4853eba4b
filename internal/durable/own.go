package durable

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// ErrNotOurs is wrapped by every refusal of a file or directory that is
// not what zkfence itself would have made: a symlink, a FIFO, a device, a
// directory where a file belongs (or the reverse), a file over its size
// bound, or an entry that changed while it was being opened. Others can
// write the volumes zkfence works on; their plants are refused with it.
var ErrNotOurs = errors.New("not a file or directory zkfence made")

// ReadRegular reads name in r, refusing anything but a regular file of at
// most max bytes. It never follows a symlink at name (Lstat, then the
// opened file is checked to be the one Lstat saw) and never blocks on a
// FIFO (O_NONBLOCK): a plant makes it return at once, wrapping ErrNotOurs.
// It reads at most max+1 bytes, whatever the file's size.
func ReadRegular(r *os.Root, name string, max int64) ([]byte, error) {
	f, err := OpenRegular(r, name, max)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%w: %s: more than %d bytes", ErrNotOurs, name, max)
	}
	return data, nil
}

// OpenRegular opens name in r for reading, with ReadRegular's checks; a
// max below 0 means no size bound.
func OpenRegular(r *os.Root, name string, max int64) (*os.File, error) {
	fi, err := r.Lstat(name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is %s, not a regular file", ErrNotOurs, name, Kind(fi))
	}
	if max >= 0 && fi.Size() > max {
		return nil, fmt.Errorf("%w: %s: %d bytes, more than %d", ErrNotOurs, name, fi.Size(), max)
	}
	f, err := r.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil && (!st.Mode().IsRegular() || !os.SameFile(fi, st)) {
		err = fmt.Errorf("%w: %s changed while it was opened", ErrNotOurs, name)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// OpenDir opens the directory name in r as a Root of its own, refusing a
// symlink or anything else that is not a directory (ErrNotOurs). The
// returned FileInfo is the directory's, for further checks (owner, mode).
func OpenDir(r *os.Root, name string) (*os.Root, fs.FileInfo, error) {
	fi, err := r.Lstat(name)
	if err != nil {
		return nil, nil, err
	}
	if !fi.IsDir() {
		return nil, nil, fmt.Errorf("%w: %s is %s, not a directory", ErrNotOurs, name, Kind(fi))
	}
	d, err := r.OpenRoot(name)
	if err != nil {
		return nil, nil, err
	}
	st, err := d.Stat(".")
	if err == nil && !os.SameFile(fi, st) {
		err = fmt.Errorf("%w: %s changed while it was opened", ErrNotOurs, name)
	}
	if err != nil {
		d.Close()
		return nil, nil, err
	}
	return d, st, nil
}

// CheckOwn refuses a directory that zkfence did not make for itself: one
// owned by another user than zkfence's effective one, or that others may
// write (ErrNotOurs).
func CheckOwn(name string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%w: %s: no owner information", ErrNotOurs, name)
	}
	if euid := os.Geteuid(); int(st.Uid) != euid {
		return fmt.Errorf("%w: %s is owned by uid %d, not by zkfence's uid %d", ErrNotOurs, name, st.Uid, euid)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%w: %s has mode %v: others may write it", ErrNotOurs, name, fi.Mode().Perm())
	}
	return nil
}

// Kind names a file's type for messages: "a symbolic link", "a FIFO",
// "a socket", "a device", "a directory", "a regular file", "a special file".
func Kind(fi fs.FileInfo) string {
	switch t := fi.Mode().Type(); {
	case t&fs.ModeSymlink != 0:
		return "a symbolic link"
	case t&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeDevice != 0:
		return "a device"
	case t.IsDir():
		return "a directory"
	case t.IsRegular():
		return "a regular file"
	default:
		return "a special file"
	}
}
