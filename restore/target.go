package restore

import (
	"github.com/zkfence/zkfence/internal/durable"

	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
)

// target is where a restore lands: the data directory, how the staging
// directory reaches it, and who owns the result.
type target struct {
	dataDir  string
	inPlace  bool // the data directory is a mount point (or holds lost+found)
	uid, gid int  // -1: leave as created
}

// newTarget decides how to place a restore into dataDir, found in state.
func newTarget(cfg Config, dataDir string, state dirState) (target, error) {
	t := target{dataDir: dataDir, uid: cfg.UID, gid: cfg.GID}
	if state == stateMissing {
		return t, os.MkdirAll(filepath.Dir(dataDir), 0o755)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(dataDir, &st); err != nil {
		return t, fmt.Errorf("stat %s: %w", dataDir, err)
	}
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
	names, err := readNames(dataDir)
	t.inPlace = mp || len(names) > 0 // only an empty lost+found gets here
	return t, err
}

// newStaging creates this attempt's staging directory on the data
// directory's filesystem.
func (t target) newStaging() (string, error) {
	if t.inPlace {
		return makeStaging(t.dataDir, stagingTag)
	}
	dir, err := makeStaging(filepath.Dir(t.dataDir), "."+filepath.Base(t.dataDir)+stagingTag)
	if err != nil {
		return "", err
	}
	if err := t.sameFS(dir); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// sameFS checks that staging and an existing data directory share a
// filesystem, so that the final rename is atomic.
func (t target) sameFS(staging string) error {
	a, err := devOf(staging)
	if err != nil {
		return err
	}
	b, err := devOf(t.dataDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if a != b {
		return fmt.Errorf("staging directory %s is not on the filesystem of %s", staging, t.dataDir)
	}
	return nil
}

// place moves a verified, synced staging directory into place. It is the
// only step that changes the data directory, and it runs only if ctx (the
// lock) is still good. committed reports that an in-place restore wrote its
// commit record: its staging directory must then stay for the roll forward.
func (t target) place(ctx context.Context, staging string, e engine, log *slog.Logger) (committed bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("not placing the restore: %w", err)
	}
	if t.inPlace {
		return t.placeInPlace(staging, e, log)
	}
	return false, t.placeSibling(staging)
}

// placeSibling renames staging onto the data directory. rename(2) replaces
// a directory only when it is empty, so the kernel re-checks I5 at the
// instant of the switch.
func (t target) placeSibling(staging string) error {
	// syscall.Rename, not os.Rename: os.Rename refuses any existing
	// directory as the target, even an empty one.
	if err := syscall.Rename(staging, t.dataDir); err != nil {
		if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
			return fmt.Errorf("%s is no longer empty; not restoring over it: %w", t.dataDir, err)
		}
		return fmt.Errorf("rename into place: %w", err)
	}
	return durable.SyncDir(filepath.Dir(t.dataDir))
}
