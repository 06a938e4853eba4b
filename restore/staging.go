package restore

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"

	"github.com/zkfence/zkfence/internal/durable"
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
