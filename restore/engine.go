package restore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Engine names.
const (
	Postgres = "postgres"
	MySQL    = "mysql"
	Auto     = "auto"
)

// engine is what restore needs to know about a database engine: the marker
// that says a directory is its data directory, and the modes it accepts.
type engine struct {
	name      string
	marker    string // relative to the data directory
	markerDir bool   // the marker is a directory (MySQL's system schema)
	dirMax    fs.FileMode
	fileMax   fs.FileMode
}

// engines: PostgreSQL refuses a data directory that is not 0700 or 0750 and
// its files must not be group-writable or world-accessible; MySQL/MariaDB
// only need the owner to have full access, and world write is never kept.
var engines = map[string]engine{
	Postgres: {name: Postgres, marker: "PG_VERSION", dirMax: 0o750, fileMax: 0o640},
	MySQL:    {name: MySQL, marker: "mysql", markerDir: true, dirMax: 0o775, fileMax: 0o664},
}

// detectOrder is the order markers are looked for with engine auto.
var detectOrder = []string{Postgres, MySQL}

// dirMode is the mode a restored directory gets from the recorded one.
func (e engine) dirMode(m fs.FileMode) fs.FileMode { return m.Perm()&e.dirMax | 0o700 }

// fileMode is the mode a restored file gets from the recorded one.
func (e engine) fileMode(m fs.FileMode) fs.FileMode { return m.Perm()&e.fileMax | 0o600 }

// hasMarker reports whether dir holds the engine's marker (a symlink of
// that name is no marker).
func (e engine) hasMarker(dir *os.Root) (bool, error) {
	fi, err := dir.Lstat(e.marker)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return fi.Mode()&fs.ModeSymlink == 0 && fi.IsDir() == e.markerDir, nil
}

// detect returns the engine whose marker dir holds: want itself when it is
// not auto, else the first that matches. ok is false when none does.
func detect(dir *os.Root, want string) (e engine, ok bool, err error) {
	names := detectOrder
	if want != Auto {
		names = []string{want}
	}
	for _, n := range names {
		has, err := engines[n].hasMarker(dir)
		if err != nil {
			return engine{}, false, fmt.Errorf("look for %s's marker in %s: %w", n, dir.Name(), err)
		}
		if has {
			return engines[n], true, nil
		}
	}
	return engine{}, false, nil
}
