package restore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// errIncomplete marks a backup directory whose manifest is missing or does
// not say complete: a backup in progress, or one that crashed.
var errIncomplete = errors.New("incomplete (no complete manifest)")

// Entry is one backup directory of a catalog.
type Entry struct {
	Name     string
	Dir      string
	Manifest Manifest
	ModTime  time.Time // of the directory; retention ages incomplete ones by it
	Err      error     // why it cannot be restored; nil for a complete backup
}

// Complete reports whether the entry is a complete, valid backup.
func (e Entry) Complete() bool { return e.Err == nil }

// List returns the backups of a catalog, complete ones newest first by
// creation time, then the others by name. Hidden names are not backups. A
// catalog that does not exist yet holds no backups.
func List(catalog string) ([]Entry, error) {
	des, err := os.ReadDir(catalog)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, de := range des {
		if !de.IsDir() || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		out = append(out, readEntry(catalog, de.Name()))
	}
	sort.SliceStable(out, func(i, j int) bool { return newer(out[i], out[j]) })
	return out, nil
}

// readEntry reads one backup directory's manifest, never through a link.
func readEntry(catalog, name string) Entry {
	e := Entry{Name: name, Dir: filepath.Join(catalog, name)}
	if fi, err := os.Lstat(e.Dir); err == nil {
		e.ModTime = fi.ModTime()
	}
	m, err := readManifest(catalog, name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		e.Err = errIncomplete
	case err != nil:
		e.Err = err
	case !m.Complete:
		e.Err = errIncomplete
	}
	e.Manifest = m
	return e
}

// newer orders complete entries first, newest first, then by name.
func newer(a, b Entry) bool {
	if a.Complete() != b.Complete() {
		return a.Complete()
	}
	if a.Complete() && !a.Manifest.Created.Equal(b.Manifest.Created) {
		return a.Manifest.Created.After(b.Manifest.Created)
	}
	return a.Name > b.Name
}

// candidates returns the backups Run may restore, in the order to try them.
// A named backup that is missing or unusable is a failure, not ErrNoBackup:
// the operator asked for that one.
func candidates(entries []Entry, cfg Config, want string) ([]Entry, error) {
	if cfg.Backup != "" {
		for _, e := range entries {
			if e.Name != cfg.Backup {
				continue
			}
			if !e.Complete() {
				return nil, failedf("backup %s: %v", e.Name, e.Err)
			}
			if want != Auto && e.Manifest.Engine != want {
				return nil, failedf("backup %s is a %s backup, not %s", e.Name, e.Manifest.Engine, want)
			}
			return []Entry{e}, nil
		}
		return nil, failedf("backup %s not found in %s", cfg.Backup, cfg.From)
	}
	var out []Entry
	for _, e := range entries {
		if !e.Complete() || (want != Auto && e.Manifest.Engine != want) {
			continue
		}
		if !cfg.Before.IsZero() && e.Manifest.Created.After(cfg.Before) {
			continue
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no complete %s backup in %s%s", ErrNoBackup, want, cfg.From, beforeNote(cfg.Before))
	}
	return sameEngine(out), nil
}

// sameEngine keeps the backups of the newest one's engine: with engine auto
// a catalog holding both engines never falls back across engines.
func sameEngine(es []Entry) []Entry {
	out := es[:0:0]
	for _, e := range es {
		if e.Manifest.Engine == es[0].Manifest.Engine {
			out = append(out, e)
		}
	}
	return out
}

func beforeNote(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return " created at or before " + t.UTC().Format(time.RFC3339)
}
