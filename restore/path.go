package restore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/zkfence/zkfence/internal/durable"
)

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
