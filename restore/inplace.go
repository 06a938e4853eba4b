package restore

import (
	"github.com/zkfence/zkfence/internal/durable"

	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

// commitName is the commit record of an in-place restore, inside its
// staging directory. Its presence means: everything in this staging
// directory is verified and synced, and these entries go up into the data
// directory. It is what makes an interrupted in-place restore resumable.
const commitName = ".zkfence-commit.json"

// commitRecord lists the staging directory's top-level entries, in the
// order they move, the engine's marker last.
type commitRecord struct {
	Engine  string   `json:"engine"`
	Entries []string `json:"entries"`
}

// placeInPlace fills a data directory that is a mount point: write the
// commit record, then move each top-level entry up, the marker last.
func (t target) placeInPlace(staging string, e engine, log *slog.Logger) (committed bool, err error) {
	names, err := readNames(staging)
	if err != nil {
		return false, err
	}
	slices.Sort(names)
	names = slices.DeleteFunc(names, func(n string) bool { return n == e.marker })
	rec := commitRecord{Engine: e.name, Entries: append(names, e.marker)}
	b, err := json.Marshal(rec)
	if err != nil {
		return false, err
	}
	if err := durable.WriteFile(staging, commitName, b, 0o600); err != nil {
		return false, fmt.Errorf("write commit record: %w", err)
	}
	log.Info("data directory is a mount point: moving the verified restore into it", "data_dir", t.dataDir, "entries", len(rec.Entries))
	return true, moveUp(staging, t.dataDir, rec)
}

// moveUp moves the committed entries from staging into dataDir, skipping
// those already moved, then removes staging. Safe to repeat after a crash.
func moveUp(staging, dataDir string, rec commitRecord) error {
	if err := copyRootAttrs(staging, dataDir); err != nil {
		return err
	}
	for _, n := range rec.Entries {
		from, to := filepath.Join(staging, n), filepath.Join(dataDir, n)
		_, errFrom := os.Lstat(from)
		_, errTo := os.Lstat(to)
		switch {
		case errFrom == nil && n == lostFound && errTo == nil:
			continue // the volume's own lost+found stays
		case errFrom == nil && errors.Is(errTo, fs.ErrNotExist):
			if err := os.Rename(from, to); err != nil {
				return fmt.Errorf("move %s into the data directory: %w", n, err)
			}
		case errors.Is(errFrom, fs.ErrNotExist) && errTo == nil:
			// moved before a crash
		default:
			return fmt.Errorf("cannot move %s into %s (staging: %v, data directory: %v)", n, dataDir, errFrom, errTo)
		}
	}
	if err := durable.SyncDir(dataDir); err != nil {
		return err
	}
	if err := os.RemoveAll(staging); err != nil {
		return fmt.Errorf("remove staging directory: %w", err)
	}
	return durable.SyncDir(dataDir)
}

// recoverInPlace deals with the staging directories an interrupted
// in-place restore left inside dataDir: one with a commit record is rolled
// forward (only if the data directory holds nothing it did not write), one
// without is removed.
func recoverInPlace(dataDir string, log *slog.Logger) error {
	if fi, err := os.Stat(dataDir); err != nil || !fi.IsDir() {
		return nil // missing, or inspect reports the problem
	}
	names, err := readNames(dataDir)
	if err != nil {
		return err
	}
	for _, n := range names {
		if !inPlacePattern.MatchString(n) {
			continue
		}
		staging := filepath.Join(dataDir, n)
		rec, err := readCommit(staging)
		if errors.Is(err, fs.ErrNotExist) {
			if err := removeStaging(staging, log); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("interrupted restore in %s: %w", staging, err)
		}
		if err := rollForward(staging, dataDir, names, rec, log); err != nil {
			return err
		}
	}
	return nil
}

// rollForward finishes a committed in-place restore.
func rollForward(staging, dataDir string, names []string, rec commitRecord, log *slog.Logger) error {
	for _, n := range names {
		if n == filepath.Base(staging) || n == lostFound || inPlacePattern.MatchString(n) {
			continue
		}
		if !slices.Contains(rec.Entries, n) {
			return fmt.Errorf("%s holds an interrupted restore (%s) and %q, which that restore did not write: "+
				"not touching it; inspect it by hand", dataDir, filepath.Base(staging), n)
		}
	}
	log.Warn("finishing an in-place restore interrupted after its commit", "data_dir", dataDir, "staging", staging)
	return moveUp(staging, dataDir, rec)
}

func readCommit(staging string) (commitRecord, error) {
	var rec commitRecord
	b, err := os.ReadFile(filepath.Join(staging, commitName))
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("commit record: %w", err)
	}
	if len(rec.Entries) == 0 {
		return rec, errors.New("commit record lists nothing")
	}
	for _, n := range rec.Entries {
		if !fs.ValidPath(n) || filepath.Base(n) != n || n == "." {
			return rec, fmt.Errorf("commit record: bad entry %q", n)
		}
	}
	return rec, nil
}

// copyRootAttrs gives the mount point the owner and mode the staging root
// was given (PostgreSQL checks its data directory's mode).
func copyRootAttrs(staging, dataDir string) error {
	var st syscall.Stat_t
	if err := syscall.Stat(staging, &st); err != nil {
		return fmt.Errorf("stat %s: %w", staging, err)
	}
	if err := os.Lchown(dataDir, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	return os.Chmod(dataDir, fs.FileMode(st.Mode).Perm())
}
