package restore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"

	"github.com/zkfence/zkfence/internal/durable"
	"golang.org/x/sys/unix"
)

// target is where a restore lands: the data directory (reached without
// links: see openParent), how the staging directory reaches it, and who
// owns the result.
type target struct {
	dataDir  string   // the operator's path, for messages and the script
	parent   *os.Root // the data directory's parent
	name     string   // the data directory's name in parent
	inPlace  bool     // the data directory is a mount point (or holds lost+found)
	uid, gid int      // -1: leave as created
	token    int64    // our fencing token, for an in-place commit record
}

// newTarget decides how to place a restore into the data directory name
// of parent, found in state.
func newTarget(cfg Config, dataDir string, parent *os.Root, name string, state dirState) (target, error) {
	t := target{dataDir: dataDir, parent: parent, name: name, uid: cfg.UID, gid: cfg.GID, token: cfg.Token}
	if state == stateMissing {
		return t, nil
	}
	fi, err := parent.Lstat(name)
	if err != nil {
		return t, err
	}
	st := fi.Sys().(*syscall.Stat_t)
	if t.uid == -1 {
		t.uid = int(st.Uid)
	}
	if t.gid == -1 {
		t.gid = int(st.Gid)
	}
	mp, err := isMountPoint(dataDir)
	if err != nil {
		return t, err
	}
	dir, _, err := durable.OpenDir(parent, name)
	if err != nil {
		return t, err
	}
	defer dir.Close()
	names, err := readNamesIn(dir, ".")
	t.inPlace = mp || len(names) > 0 // only an empty lost+found gets here
	return t, err
}

// newStaging creates this attempt's staging directory on the data
// directory's filesystem.
func (t target) newStaging() (*staging, error) {
	if t.inPlace {
		dir, _, err := durable.OpenDir(t.parent, t.name)
		if err != nil {
			return nil, err
		}
		s, err := makeStaging(dir, t.dataDir, stagingTag)
		if err != nil {
			dir.Close()
			return nil, err
		}
		s.ownHolder = true
		return s, nil
	}
	s, err := makeStaging(t.parent, filepath.Dir(t.dataDir), "."+t.name+stagingTag)
	if err != nil {
		return nil, err
	}
	if err := t.sameFS(s); err != nil {
		s.remove()
		return nil, err
	}
	return s, nil
}

// sameFS checks that staging and an existing data directory share a
// filesystem, so that the final rename is atomic.
func (t target) sameFS(s *staging) error {
	a, err := s.root.Stat(".")
	if err != nil {
		return err
	}
	b, err := t.parent.Lstat(t.name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if a.Sys().(*syscall.Stat_t).Dev != b.Sys().(*syscall.Stat_t).Dev {
		return fmt.Errorf("staging directory %s is not on the filesystem of %s", s.path, t.dataDir)
	}
	return nil
}

// place moves a verified, synced staging directory into place. It is the
// only step that changes the data directory, and it runs only if ctx (the
// lock) is still good. committed reports that an in-place restore wrote its
// commit record: its staging directory must then stay for the roll forward.
func (t target) place(ctx context.Context, s *staging, f filled, log *slog.Logger) (committed bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("not placing the restore: %w", err)
	}
	if t.inPlace {
		return t.placeInPlace(s, f, log)
	}
	return false, t.placeSibling(s, f.rootMode)
}

// placeSibling gives staging the data directory's owner and mode and
// renames it onto the data directory. rename(2) replaces a directory only
// when it is empty, so the kernel re-checks I5 at the instant of the switch.
func (t target) placeSibling(s *staging, mode fs.FileMode) error {
	if err := chownChmod(s.root, ".", t.uid, t.gid, mode); err != nil {
		return err
	}
	pf, err := t.parent.Open(".")
	if err != nil {
		return err
	}
	defer pf.Close()
	// renameat(2) relative to the parent we reached without links; not
	// os.Rename or Root.Rename: they refuse any existing directory as the
	// target, even an empty one.
	fd := int(pf.Fd())
	if err := unix.Renameat(fd, s.name, fd, t.name); err != nil {
		if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
			return fmt.Errorf("%s is no longer empty; not restoring over it: %w", t.dataDir, err)
		}
		return fmt.Errorf("rename into place: %w", err)
	}
	return pf.Sync()
}

// chownChmod sets the owner and mode of name in r through a descriptor
// (fchown, fchmod): never through a link, and on any kernel.
func chownChmod(r *os.Root, name string, uid, gid int, mode fs.FileMode) error {
	f, err := r.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Chmod(mode); err != nil {
		return err
	}
	return f.Chown(uid, gid)
}
