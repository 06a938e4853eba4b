package restore

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
)

// stagingTag names staging directories. A sibling staging directory is
// <parent>/.<name>.zkfence-restore-<16 hex>; an in-place one (data directory
// is a mount point) is <datadir>/.zkfence-restore-<16 hex>. Nothing else is
// ever removed by the cleanup.
const stagingTag = ".zkfence-restore-"

// siblingPattern matches the sibling staging directories of dataDir.
func siblingPattern(dataDir string) *regexp.Regexp {
	return regexp.MustCompile(`^` + regexp.QuoteMeta("."+filepath.Base(dataDir)+stagingTag) + `[0-9a-f]{16}$`)
}

// inPlacePattern matches in-place staging directories inside a data directory.
var inPlacePattern = regexp.MustCompile(`^` + regexp.QuoteMeta(stagingTag) + `[0-9a-f]{16}$`)

// makeStaging creates a new, empty staging directory (mode 0700) in parent,
// named prefix + 16 random hex digits.
func makeStaging(parent, prefix string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	dir := filepath.Join(parent, prefix+hex.EncodeToString(b[:]))
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", fmt.Errorf("create staging directory: %w", err)
	}
	return dir, nil
}

// cleanSiblings removes the sibling staging directories an interrupted
// restore of dataDir left behind.
func cleanSiblings(dataDir string, log *slog.Logger) error {
	return removeMatching(filepath.Dir(dataDir), siblingPattern(dataDir), log)
}

// removeMatching removes the directories (never symlinks or files) in dir
// whose names match re. A missing dir holds none.
func removeMatching(dir string, re *regexp.Regexp, log *slog.Logger) error {
	names, err := readNames(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, n := range names {
		if !re.MatchString(n) {
			continue
		}
		if err := removeStaging(filepath.Join(dir, n), log); err != nil {
			return err
		}
	}
	return nil
}

// removeStaging removes a stale staging directory; a symlink or file of the
// same name is left alone.
func removeStaging(p string, log *slog.Logger) error {
	if fi, err := os.Lstat(p); err != nil || !fi.IsDir() {
		return nil
	}
	log.Warn("removing a staging directory left by an interrupted restore", "path", p)
	if err := os.RemoveAll(p); err != nil {
		return fmt.Errorf("remove stale staging directory %s: %w", p, err)
	}
	return nil
}
