package restore

import (
	"github.com/zkfence/zkfence/internal/durable"

	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"time"
)

// The layout of one backup in a catalog: <catalog>/<name>/data/... holds the
// data directory, <catalog>/<name>/manifest.json describes it and is written
// last.
const (
	ManifestName  = "manifest.json"
	DataSubdir    = "data"
	FormatVersion = 1
)

// Manifest describes one backup. A backup exists, for Run, only when its
// manifest parses, validates, and says Complete.
type Manifest struct {
	Format   int       `json:"format"`
	Name     string    `json:"name"`
	Engine   string    `json:"engine"`
	Version  string    `json:"version"` // the server's version
	Tool     string    `json:"tool"`    // what took it, with its version
	Created  time.Time `json:"created"`
	Host     string    `json:"host,omitempty"`
	Token    int64     `json:"token,omitempty"` // fencing token of the holder that took it, if any
	Dirs     []Dir     `json:"dirs"`            // parents before children; "." is the root
	Files    []File    `json:"files"`
	Bytes    int64     `json:"bytes"`
	Complete bool      `json:"complete"`
}

// Dir is a directory of the backed-up data directory.
type Dir struct {
	Path string `json:"path"`
	Mode uint32 `json:"mode"`
}

// File is a regular file of the backed-up data directory.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	Mode   uint32 `json:"mode"`
}

// MaxManifest bounds what is read of a manifest (about a million files).
const MaxManifest = 256 << 20

// readManifest reads and validates catalog/name/manifest.json: the backup
// a real directory and the manifest a regular file of at most MaxManifest
// bytes, neither reached through a link. fs.ErrNotExist (wrapped) means a
// backup without a manifest; a planted one is ErrCorrupt.
func readManifest(catalog, name string) (Manifest, error) {
	cat, err := os.OpenRoot(catalog)
	if err != nil {
		return Manifest{}, err
	}
	defer cat.Close()
	dir, _, err := durable.OpenDir(cat, name)
	if err != nil {
		return Manifest{}, notOurs(err)
	}
	defer dir.Close()
	b, err := durable.ReadRegular(dir, ManifestName, MaxManifest)
	if err != nil {
		return Manifest{}, notOurs(err)
	}
	return parseManifest(b)
}

// parseManifest decodes and validates a manifest; its errors wrap
// ErrCorrupt.
func parseManifest(b []byte) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%w: %s: %v", ErrCorrupt, ManifestName, err)
	}
	return m, m.validate()
}

// notOurs turns a refused plant into ErrCorrupt.
func notOurs(err error) error {
	if errors.Is(err, durable.ErrNotOurs) {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return err
}

// validate refuses a manifest that could write outside the staging
// directory or does not add up.
func (m Manifest) validate() error {
	if m.Format != FormatVersion {
		return fmt.Errorf("%w: manifest format %d, want %d", ErrCorrupt, m.Format, FormatVersion)
	}
	if _, ok := engines[m.Engine]; !ok {
		return fmt.Errorf("%w: manifest engine %q", ErrCorrupt, m.Engine)
	}
	seen := map[string]bool{}
	var total int64
	for _, d := range m.Dirs {
		if err := checkPath(d.Path, seen, d.Path == "."); err != nil {
			return err
		}
		if err := checkParent(d.Path, seen); err != nil {
			return err
		}
	}
	for _, f := range m.Files {
		if err := checkPath(f.Path, seen, false); err != nil {
			return err
		}
		if err := checkParent(f.Path, seen); err != nil {
			return err
		}
		if f.Size < 0 || len(f.SHA256) != 64 {
			return fmt.Errorf("%w: manifest entry %q: bad size or sha256", ErrCorrupt, f.Path)
		}
		if f.Size > math.MaxInt64-total {
			return fmt.Errorf("%w: manifest sizes add up past 2^63 bytes", ErrCorrupt)
		}
		total += f.Size
	}
	if total != m.Bytes {
		return fmt.Errorf("%w: manifest bytes %d, files add up to %d", ErrCorrupt, m.Bytes, total)
	}
	return nil
}

// checkPath accepts a clean, relative, slash-separated path seen once.
func checkPath(p string, seen map[string]bool, root bool) error {
	if !root && (!fs.ValidPath(p) || p == ".") || seen[p] {
		return fmt.Errorf("%w: manifest path %q", ErrCorrupt, p)
	}
	seen[p] = true
	return nil
}

// checkParent requires p's directory to be listed before p.
func checkParent(p string, seen map[string]bool) error {
	if dir := path.Dir(p); p != "." && dir != "." && !seen[dir] {
		return fmt.Errorf("%w: manifest lists %q before its directory", ErrCorrupt, p)
	}
	return nil
}

// writeManifest writes dir/manifest.json atomically and durably: a temp
// file, fsync, rename, fsync of dir. Until the rename the backup does not
// exist for Run.
func writeManifest(dir string, m Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFile(dir, ManifestName, append(b, '\n'), 0o644)
}
