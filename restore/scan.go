package restore

import (
	"github.com/zkfence/zkfence/internal/durable"

	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
)

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
