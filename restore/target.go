package restore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/moby/sys/mountinfo"
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

// openParent opens the data directory's parent as a Root, walking from /
// one directory at a time without following a single symlink, and checks
// that the data directory itself (when it exists) is no symlink either.
// Anyone who can write a volume could plant a link on the way; root must
// never restore into, or create directories in, a place they chose. With
// create, missing directories on the way are made (0755). It returns the
// data directory's name in the parent.
func openParent(dataDir string, create bool) (*os.Root, string, error) {
	clean := filepath.Clean(dataDir)
	r, err := os.OpenRoot("/")
	if err != nil {
		return nil, "", err
	}
	at := "/"
	for _, part := range strings.Split(strings.TrimPrefix(filepath.Dir(clean), "/"), "/") {
		if part == "" {
			continue
		}
		at = filepath.Join(at, part)
		if create {
			if err := r.Mkdir(part, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				r.Close()
				return nil, "", fmt.Errorf("create %s: %w", at, err)
			}
		}
		next, _, err := durable.OpenDir(r, part)
		r.Close()
		if err != nil {
			return nil, "", pathErr(dataDir, at, err)
		}
		r = next
	}
	name := filepath.Base(clean)
	if fi, err := r.Lstat(name); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		r.Close()
		return nil, "", pathErr(dataDir, clean, fmt.Errorf("%w: a symbolic link", durable.ErrNotOurs))
	}
	return r, name, nil
}

// pathErr explains a refused or failed step on the way to the data
// directory.
func pathErr(dataDir, at string, err error) error {
	if !errors.Is(err, durable.ErrNotOurs) {
		return fmt.Errorf("data directory %s: %s: %w", dataDir, at, err)
	}
	if fi, lerr := os.Lstat(at); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("data directory %s: %s is a symbolic link; zkfence reaches the data directory without "+
			"following links, since anyone who can write a volume could plant one: give the real path in --data-dir", dataDir, at)
	}
	return fmt.Errorf("data directory %s: %s is not a directory", dataDir, at)
}

// readNamesIn lists the names in the directory name of r.
func readNamesIn(r *os.Root, name string) ([]string, error) {
	f, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// isMountPoint reports whether dir is a mount point: rename(2) onto it fails
// (EBUSY), so a restore must fill it in place. github.com/moby/sys/mountinfo
// resolves symlinks, then asks the kernel (openat2 with RESOLVE_NO_XDEV, or
// st_dev against the parent's) and reads the mount table when that is not
// conclusive, so bind mounts of the same filesystem are seen too.
func isMountPoint(dir string) (bool, error) {
	mp, err := mountinfo.Mounted(dir)
	if err != nil {
		return false, fmt.Errorf("is %s a mount point: %w", dir, err)
	}
	return mp, nil
}

// devOf returns the st_dev of path.
func devOf(path string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, fmt.Errorf("stat %s: %w", path, err)
	}
	return st.Dev, nil
}

// lostFound is created by mkfs at the root of ext filesystems; an otherwise
// empty volume holding only it counts as empty.
const lostFound = "lost+found"

// dirState is what Run finds at the data directory.
type dirState int

const (
	stateMissing dirState = iota // no such directory
	stateEmpty                   // exists; nothing in it but an empty lost+found
	stateReady                   // holds the engine's marker: leave it alone
	stateForeign                 // holds something, but not the marker: refuse
)

func (s dirState) String() string {
	return [...]string{"missing", "empty", "ready", "not empty, without the engine's marker"}[s]
}

// inspect classifies the data directory name in parent. eng is the engine
// found when the state is stateReady.
func inspect(parent *os.Root, name, want string) (dirState, engine, error) {
	fi, err := parent.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return stateMissing, engine{}, nil
	}
	if err != nil {
		return 0, engine{}, err
	}
	if !fi.IsDir() {
		return 0, engine{}, fmt.Errorf("%s is not a directory", filepath.Join(parent.Name(), name))
	}
	dir, _, err := durable.OpenDir(parent, name)
	if err != nil {
		return 0, engine{}, err
	}
	defer dir.Close()
	eng, ok, err := detect(dir, want)
	if err != nil || ok {
		return stateReady, eng, err
	}
	empty, err := isEmpty(dir)
	if err != nil {
		return 0, engine{}, err
	}
	if empty {
		return stateEmpty, engine{}, nil
	}
	return stateForeign, engine{}, nil
}

// isEmpty reports whether dir holds nothing but, at most, an empty
// lost+found directory (a real one, not a symlink).
func isEmpty(dir *os.Root) (bool, error) {
	names, err := readNamesIn(dir, ".")
	if err != nil {
		return false, err
	}
	for _, n := range names {
		if n != lostFound {
			return false, nil
		}
		if fi, err := dir.Lstat(n); err != nil || !fi.IsDir() {
			return false, err
		}
		sub, err := readNamesIn(dir, n)
		if err != nil || len(sub) > 0 {
			return false, err
		}
	}
	return true, nil
}

// readNames lists the names in dir.
func readNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// MarkerName is the file a restore leaves in the data directory, saying
// which backup was restored and when. PostgreSQL and MariaDB ignore a
// regular file of that name in their data directories; Backup leaves it out
// of backups.
const MarkerName = ".zkfence-restored.json"

// Marker is the content of MarkerName.
type Marker struct {
	Backup     string    `json:"backup"` // the backup's name, or "cmd"
	Source     string    `json:"source"` // the catalog, or "restore-cmd" (never the command: it may hold secrets)
	Engine     string    `json:"engine"`
	Version    string    `json:"version,omitempty"`
	Created    time.Time `json:"created,omitzero"` // when the backup was taken
	RestoredAt time.Time `json:"restored_at"`
	Token      int64     `json:"token"`
	Bytes      int64     `json:"bytes"`
	Files      int       `json:"files"`
	Host       string    `json:"host,omitempty"`
}

// maxMarker bounds what is read of a marker.
const maxMarker = 64 << 10

// ReadMarker reads the marker of a restored data directory: a regular
// file, never through a link, of at most 64 KiB.
func ReadMarker(dataDir string) (Marker, error) {
	var m Marker
	r, err := os.OpenRoot(dataDir)
	if err != nil {
		return m, err
	}
	defer r.Close()
	b, err := durable.ReadRegular(r, MarkerName, maxMarker)
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(b, &m)
}

// writeMarker writes the marker into the staging directory, so that it
// arrives with the data, owned like it.
func writeMarker(staging *os.Root, m Marker, e engine, uid, gid int) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := durable.WriteFileIn(staging, MarkerName, append(b, '\n'), e.fileMode(0o600)); err != nil {
		return err
	}
	return staging.Lchown(MarkerName, uid, gid)
}
