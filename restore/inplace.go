package restore

import (
	"github.com/zkfence/zkfence/internal/durable"

	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
)

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
