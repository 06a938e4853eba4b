package restore

import (
	"github.com/zkfence/zkfence/internal/durable"

	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

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
