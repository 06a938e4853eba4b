package restore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"

	"github.com/zkfence/zkfence/internal/durable"
	"golang.org/x/sys/unix"
)

// stagingTag names staging directories. A sibling staging directory is
// <parent>/.<name>.zkfence-restore-<16 hex>; an in-place one (data directory
// is a mount point) is <datadir>/.zkfence-restore-<16 hex>. Nothing else is
// ever removed by the cleanup.
const stagingTag = ".zkfence-restore-"

// siblingPattern matches the sibling staging directories of the data
// directory name.
func siblingPattern(name string) *regexp.Regexp {
	return regexp.MustCompile(`^` + regexp.QuoteMeta("."+name+stagingTag) + `[0-9a-f]{16}$`)
}

// inPlacePattern matches in-place staging directories inside a data directory.
var inPlacePattern = regexp.MustCompile(`^` + regexp.QuoteMeta(stagingTag) + `[0-9a-f]{16}$`)

// staging is one attempt's staging directory. It stays owned by zkfence's
// user, mode 0700, until it is placed (the data directory's own owner and
// mode are applied at the switch), so nobody else can plant anything in it
// while it is filled, and every access to it is relative to its Root.
type staging struct {
	path   string   // for messages and the restore script
	name   string   // in holder
	holder *os.Root // the directory it was made in: the parent, or the data directory
	root   *os.Root // the staging directory itself
	// ownHolder: holder was opened for this staging directory (the data
	// directory, in place) and is closed with it.
	ownHolder bool
}

// makeStaging creates a new, empty staging directory (mode 0700) in
// holder (found at holderPath), named prefix + 16 random hex digits.
func makeStaging(holder *os.Root, holderPath, prefix string) (*staging, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	name := prefix + hex.EncodeToString(b[:])
	if err := holder.Mkdir(name, 0o700); err != nil {
		return nil, fmt.Errorf("create staging directory: %w", err)
	}
	r, _, err := durable.OpenDir(holder, name)
	if err != nil {
		holder.RemoveAll(name)
		return nil, fmt.Errorf("open staging directory: %w", err)
	}
	return &staging{path: filepath.Join(holderPath, name), name: name, holder: holder, root: r}, nil
}

// close releases the descriptors; the directory stays.
func (s *staging) close() {
	s.root.Close()
	if s.ownHolder {
		s.holder.Close()
	}
}

// remove removes the staging directory and whatever is in it, and closes it.
func (s *staging) remove() error {
	defer s.close()
	return s.holder.RemoveAll(s.name)
}

// cleanSiblings removes the sibling staging directories an interrupted
// restore of the data directory name left in parent.
func cleanSiblings(parent *os.Root, name string, log *slog.Logger) error {
	names, err := readNamesIn(parent, ".")
	if err != nil {
		return err
	}
	re := siblingPattern(name)
	for _, n := range names {
		if !re.MatchString(n) {
			continue
		}
		if err := removeStaging(parent, n, log); err != nil {
			return err
		}
	}
	return nil
}

// removeStaging removes a stale staging directory name in holder; a
// symlink or file of the same name is left alone, and nothing is followed.
func removeStaging(holder *os.Root, name string, log *slog.Logger) error {
	if fi, err := holder.Lstat(name); err != nil || !fi.IsDir() {
		return nil
	}
	log.Warn("removing a staging directory left by an interrupted restore", "path", filepath.Join(holder.Name(), name))
	if err := holder.RemoveAll(name); err != nil {
		return fmt.Errorf("remove stale staging directory %s: %w", name, err)
	}
	return nil
}

// settleTree gives everything a script left in the staging directory r the
// target's owner and the engine's modes, and makes it durable (makeDurable;
// fsRef was opened before the script ran). Only directories, regular files
// and symlinks are accepted; symlinks are chowned, never followed. The
// staging directory itself keeps zkfence's owner and mode 0700 until it is
// placed: rootMode is the mode the data directory gets then.
func settleTree(ctx context.Context, r *os.Root, fsRef *os.File, eng engine, t target) (bytes int64, files int, rootMode fs.FileMode, err error) {
	var dirs, paths []string
	err = fs.WalkDir(r.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil { // the lock: nothing is written past it
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case p == ".":
			rootMode = eng.dirMode(fi.Mode())
			dirs = append(dirs, p)
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			return r.Lchown(p, t.uid, t.gid)
		case d.IsDir():
			dirs = append(dirs, p)
			return chownChmod(r, p, t.uid, t.gid, eng.dirMode(fi.Mode()))
		case d.Type().IsRegular():
			bytes += fi.Size()
			paths = append(paths, p)
			return chownChmod(r, p, t.uid, t.gid, eng.fileMode(fi.Mode()))
		}
		return fmt.Errorf("%s: unsupported file type %v in a data directory", p, d.Type())
	})
	if err != nil {
		return 0, 0, 0, err
	}
	return bytes, len(paths), rootMode, makeDurable(ctx, r, fsRef, paths, dirs)
}

// treeSize is the total size of the regular files under dir, for progress.
func treeSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// makeDurable puts a filled staging directory r on stable storage before it
// may be renamed into place. Files are not fsynced one by one while they
// are written: on ext4 every fsync of a small file is a journal commit, and
// a data directory holds thousands. Instead one syncfs(2) writes the bulk
// back in one go, then every file and directory (children first; files and
// dirs are paths in r) is fsynced, which is cheap once the data is out and
// is what counts on filesystems where syncfs promises less (NFS, FUSE).
// fsRef is a descriptor opened before the writes began, so that syncfs
// reports any writeback error since then.
func makeDurable(ctx context.Context, r *os.Root, fsRef *os.File, files, dirs []string) error {
	if err := ctx.Err(); err != nil { // the lock: a sync past it writes past it
		return err
	}
	if err := syncfs(fsRef); err != nil {
		return fmt.Errorf("syncfs: %w", err)
	}
	err := parallel(ctx, files, func(_ context.Context, p string) error { return fsyncIn(r, p) })
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := durable.SyncIn(r, dirs[i]); err != nil {
			return fmt.Errorf("fsync %s: %w", dirs[i], err)
		}
	}
	return nil
}

// syncfs flushes the whole filesystem holding f.
func syncfs(f *os.File) error {
	return unix.Syncfs(int(f.Fd()))
}

func fsyncIn(r *os.Root, p string) error {
	if err := durable.SyncIn(r, p); err != nil {
		return fmt.Errorf("fsync %s: %w", p, err)
	}
	return nil
}

// commitName is the commit record of an in-place restore, inside its
// staging directory. Its presence means: everything in this staging
// directory is verified and synced, and these entries go up into the data
// directory. It is what makes an interrupted in-place restore resumable.
const commitName = ".zkfence-commit.json"

// maxCommit bounds what is read of a commit record.
const maxCommit = 1 << 20

// commitRecord lists the staging directory's top-level entries, in the
// order they move, the engine's marker last; the fencing token of the
// restore that wrote it; and the owner and mode the data directory gets.
type commitRecord struct {
	Engine  string   `json:"engine"`
	Entries []string `json:"entries"`
	Token   int64    `json:"token"`
	UID     int      `json:"uid"`
	GID     int      `json:"gid"`
	Mode    uint32   `json:"mode"`
}

// placeInPlace fills a data directory that is a mount point: write the
// commit record, then move each top-level entry up, the marker last.
func (t target) placeInPlace(s *staging, f filled, log *slog.Logger) (committed bool, err error) {
	names, err := readNamesIn(s.root, ".")
	if err != nil {
		return false, err
	}
	slices.Sort(names)
	names = slices.DeleteFunc(names, func(n string) bool { return n == f.eng.marker })
	rec := commitRecord{Engine: f.eng.name, Entries: append(names, f.eng.marker), Token: t.token,
		UID: t.uid, GID: t.gid, Mode: uint32(f.rootMode.Perm())}
	b, err := json.Marshal(rec)
	if err != nil {
		return false, err
	}
	if err := durable.WriteFileIn(s.root, commitName, b, 0o600); err != nil {
		return false, fmt.Errorf("write commit record: %w", err)
	}
	log.Info("data directory is a mount point: moving the verified restore into it", "data_dir", t.dataDir, "entries", len(rec.Entries))
	return true, moveUp(s.holder, s.name, rec)
}

// moveUp moves the committed entries from the staging directory name in
// dataDir up into dataDir, skipping those already moved, then removes the
// staging directory. Safe to repeat after a crash.
func moveUp(dataDir *os.Root, name string, rec commitRecord) error {
	if err := chownChmod(dataDir, ".", rec.UID, rec.GID, fs.FileMode(rec.Mode).Perm()); err != nil {
		return fmt.Errorf("data directory owner and mode: %w", err)
	}
	for _, n := range rec.Entries {
		from := name + "/" + n
		_, errFrom := dataDir.Lstat(from)
		_, errTo := dataDir.Lstat(n)
		switch {
		case errFrom == nil && n == lostFound && errTo == nil:
			continue // the volume's own lost+found stays
		case errFrom == nil && errors.Is(errTo, fs.ErrNotExist):
			if err := dataDir.Rename(from, n); err != nil {
				return fmt.Errorf("move %s into the data directory: %w", n, err)
			}
		case errors.Is(errFrom, fs.ErrNotExist) && errTo == nil:
			// moved before a crash
		default:
			return fmt.Errorf("cannot move %s into %s (staging: %v, data directory: %v)", n, dataDir.Name(), errFrom, errTo)
		}
	}
	if err := durable.SyncIn(dataDir, "."); err != nil {
		return err
	}
	if err := dataDir.RemoveAll(name); err != nil {
		return fmt.Errorf("remove staging directory: %w", err)
	}
	return durable.SyncIn(dataDir, ".")
}

// recoverInPlace deals with the staging directories an interrupted
// in-place restore left inside the data directory name of parent: one with
// a commit record is rolled forward, only if it is one zkfence made (see
// ours) and the data directory holds nothing it did not write; one without
// is removed. A planted one is left alone, with a warning.
func recoverInPlace(cfg Config, parent *os.Root, name string, log *slog.Logger) error {
	dir, _, err := durable.OpenDir(parent, name)
	if err != nil {
		return nil // missing, or inspect reports the problem
	}
	defer dir.Close()
	names, err := readNamesIn(dir, ".")
	if err != nil {
		return err
	}
	for _, n := range names {
		if !inPlacePattern.MatchString(n) {
			continue
		}
		rec, err := ours(dir, n, cfg.Token)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := removeStaging(dir, n, log); err != nil {
				return err
			}
		case errors.Is(err, durable.ErrNotOurs):
			log.Warn("leaving alone a directory named like an interrupted restore: it is not one zkfence made",
				"data_dir", cfg.DataDir, "name", n, "why", err)
		case err != nil:
			return fmt.Errorf("interrupted restore in %s: %w", n, err)
		default:
			if err := rollForward(dir, n, names, rec, log); err != nil {
				return err
			}
		}
	}
	return nil
}

// ours reads the commit record of the staging directory name in dataDir,
// and refuses (ErrNotOurs) what zkfence would not have written: a staging
// directory that is not a real directory owned by zkfence's user with mode
// 0700, a commit record that is not a regular file of bounded size, or one
// without a fencing token or with one newer than ours. fs.ErrNotExist
// (wrapped) means a real directory without a commit record.
func ours(dataDir *os.Root, name string, token int64) (commitRecord, error) {
	var rec commitRecord
	s, fi, err := durable.OpenDir(dataDir, name)
	if err != nil {
		return rec, err
	}
	defer s.Close()
	if err := durable.CheckOwn(name, fi); err != nil {
		return rec, err
	}
	if fi.Mode().Perm() != 0o700 {
		return rec, fmt.Errorf("%w: %s has mode %v, not 0700", durable.ErrNotOurs, name, fi.Mode().Perm())
	}
	b, err := durable.ReadRegular(s, commitName, maxCommit)
	if err != nil {
		return rec, err
	}
	if rec, err = parseCommit(b); err != nil {
		return rec, fmt.Errorf("%w: %v", durable.ErrNotOurs, err)
	}
	if rec.Token <= 0 || rec.Token > token {
		return rec, fmt.Errorf("%w: its commit record carries token %d, ours is %d", durable.ErrNotOurs, rec.Token, token)
	}
	return rec, nil
}

// rollForward finishes a committed in-place restore.
func rollForward(dataDir *os.Root, name string, names []string, rec commitRecord, log *slog.Logger) error {
	for _, n := range names {
		if n == name || n == lostFound || inPlacePattern.MatchString(n) {
			continue
		}
		if !slices.Contains(rec.Entries, n) {
			return fmt.Errorf("%s holds an interrupted restore (%s) and %q, which that restore did not write: "+
				"not touching it; inspect it by hand", dataDir.Name(), name, n)
		}
	}
	log.Warn("finishing an in-place restore interrupted after its commit", "data_dir", dataDir.Name(), "staging", name)
	return moveUp(dataDir, name, rec)
}

// parseCommit decodes and checks a commit record.
func parseCommit(b []byte) (commitRecord, error) {
	var rec commitRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("commit record: %w", err)
	}
	if len(rec.Entries) == 0 {
		return rec, errors.New("commit record lists nothing")
	}
	for _, n := range rec.Entries {
		if !fs.ValidPath(n) || n == "." || slices.Contains([]byte(n), '/') {
			return rec, fmt.Errorf("commit record: bad entry %q", n)
		}
	}
	if rec.UID < -1 || rec.GID < -1 || rec.Mode&^0o777 != 0 || rec.Mode&0o700 != 0o700 {
		return rec, fmt.Errorf("commit record: bad owner %d:%d or mode %o", rec.UID, rec.GID, rec.Mode)
	}
	return rec, nil
}
