package restore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkfence/zkfence/internal/durable"
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

// scanData describes a backup's data directory for its manifest: every
// directory and regular file with its mode, every file's size and SHA-256.
// It fsyncs what it reads, so the manifest never describes data that is
// not on disk. Symlinks (tablespaces) and special files are refused: the
// built-in restore could not reproduce them faithfully. A restore marker
// copied from the live data directory is left out. Everything is read
// relative to the data directory, never through a link: the tool that
// wrote it runs as another user, who could swap a file for a link.
func scanData(ctx context.Context, data string) (Manifest, error) {
	var m Manifest
	r, err := os.OpenRoot(data)
	if err != nil {
		return m, err
	}
	defer r.Close()
	err = fs.WalkDir(r.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			m.Dirs = append(m.Dirs, Dir{Path: rel, Mode: uint32(fi.Mode().Perm())})
			return nil
		case !d.Type().IsRegular():
			return fmt.Errorf("%s: %v is not supported in a backup (tablespaces and symlinks are not)", rel, d.Type())
		case rel == MarkerName:
			return nil
		}
		size, sum, err := hashAndSync(r, rel)
		if err != nil {
			return err
		}
		m.Files = append(m.Files, File{Path: rel, Size: size, SHA256: sum, Mode: uint32(fi.Mode().Perm())})
		m.Bytes += size
		return nil
	})
	if err != nil {
		return m, err
	}
	for i := len(m.Dirs) - 1; i >= 0; i-- {
		if err := durable.SyncIn(r, m.Dirs[i].Path); err != nil {
			return m, err
		}
	}
	return m, nil
}

// hashAndSync returns the size and SHA-256 of the regular file rel in r
// (never through a link) and fsyncs it.
func hashAndSync(r *os.Root, rel string) (int64, string, error) {
	f, err := durable.OpenRegular(r, rel, -1)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, f, make([]byte, copyBufSize))
	if err != nil {
		return 0, "", err
	}
	if err := f.Sync(); err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// copyBufSize is the unit of reading, hashing, writing and of the checks of
// ctx between them.
const copyBufSize = 1 << 20

// bufPool holds copy buffers: a data directory has thousands of small
// files, and a fresh 1 MiB buffer for each costs more than copying them.
var bufPool = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// testHookChunk, when set (tests only), is called after every chunk copied:
// the kill-mid-restore test slows the copy down with it.
var testHookChunk func(n int)

// checkTree checks a backup's tree against its manifest before anything is
// copied, so that a truncated or tampered backup is skipped at once: every
// directory is a real directory (a symlink is never followed into), every
// file a regular file of the manifest's size. Messages tell only what the
// manifest says, never what was found: the files may be anyone's.
func checkTree(src *os.Root, m Manifest) error {
	for _, d := range m.Dirs {
		if d.Path == "." {
			continue
		}
		fi, err := src.Lstat(d.Path)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("%w: %s is %s, not a directory", ErrCorrupt, d.Path, durable.Kind(fi))
		}
	}
	for _, f := range m.Files {
		fi, err := src.Lstat(f.Path)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%w: %s is %s, not a regular file", ErrCorrupt, f.Path, durable.Kind(fi))
		}
		if fi.Size() != f.Size {
			return fmt.Errorf("%w: %s: size mismatch (the manifest says %d bytes)", ErrCorrupt, f.Path, f.Size)
		}
	}
	return nil
}

// copyVerified copies want.Path from src to a new file in dst with the
// given mode and owner, hashing on the way, and checks size and SHA-256
// against want (makeDurable fsyncs it later). The source is opened without
// following a link and checked to be a regular file.
// Problems with the source (unreadable, wrong size or hash) wrap
// ErrCorrupt, and their messages tell only the manifest's size and hash;
// any other error is about the destination.
func copyVerified(ctx context.Context, src, dst *os.Root, want File, mode fs.FileMode, uid, gid int, count *atomic.Int64) error {
	in, err := durable.OpenRegular(src, want.Path, -1)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	defer in.Close()
	out, err := dst.OpenFile(want.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	defer out.Close()
	sum, n, err := copyHashing(ctx, out, in, want.Size, count)
	if err != nil {
		return fmt.Errorf("%s: %w", want.Path, err)
	}
	if n != want.Size {
		return fmt.Errorf("%w: %s: size mismatch (the manifest says %d bytes)", ErrCorrupt, want.Path, want.Size)
	}
	if sum != want.SHA256 {
		return fmt.Errorf("%w: %s: SHA-256 mismatch (the manifest says %s)", ErrCorrupt, want.Path, want.SHA256)
	}
	if err := out.Chmod(mode); err != nil { // the umask applied at creation
		return err
	}
	if err := out.Chown(uid, gid); err != nil {
		return err
	}
	return out.Close()
}

// copyHashing copies in to out, at most limit+1 bytes, and returns the hex
// SHA-256 and length of what it read.
func copyHashing(ctx context.Context, out io.Writer, in io.Reader, limit int64, count *atomic.Int64) (string, int64, error) {
	h := sha256.New()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var n int64
	r := io.LimitReader(in, limit+1)
	for {
		if err := ctx.Err(); err != nil {
			return "", n, err
		}
		k, rerr := r.Read(buf)
		if k > 0 {
			h.Write(buf[:k])
			if _, err := out.Write(buf[:k]); err != nil {
				return "", n, err
			}
			n += int64(k)
			count.Add(int64(k))
			if testHookChunk != nil {
				testHookChunk(k)
			}
		}
		if rerr == io.EOF {
			return hex.EncodeToString(h.Sum(nil)), n, nil
		}
		if rerr != nil {
			return "", n, fmt.Errorf("%w: read: %v", ErrCorrupt, rerr)
		}
	}
}
