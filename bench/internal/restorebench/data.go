package restorebench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/zkfence/zkfence/restore"
)

// Sizes of the synthetic data directory: relation segments and WAL in big
// files, and the many small files of catalogs and free space maps.
const (
	benchBigFile   = 64 << 20
	benchSmallFile = 8 << 10
	benchSmallPart = 20 // one byte in benchSmallPart is in small files
)

// benchBackup writes a backup of about size bytes of incompressible data
// into catalog, in the format restore.Backup writes (the data directory,
// then manifest.json), and returns its manifest.
func benchBackup(ctx context.Context, catalog string, size int64) (restore.Manifest, error) {
	name := "bench-postgres"
	data := filepath.Join(catalog, name, restore.DataSubdir)
	rng := rand.New(rand.NewChaCha8([32]byte{1}))
	if err := os.MkdirAll(filepath.Join(data, "base/1"), 0o700); err != nil {
		return restore.Manifest{}, err
	}
	if err := os.WriteFile(filepath.Join(data, "PG_VERSION"), []byte("15\n"), 0o600); err != nil {
		return restore.Manifest{}, err
	}
	small := size / benchSmallPart
	for i := 0; int64(i)*benchSmallFile < small; i++ {
		if err := benchFile(rng, filepath.Join(data, "base/1", fmt.Sprintf("%d", 10000+i)), benchSmallFile); err != nil {
			return restore.Manifest{}, err
		}
	}
	for i, left := 0, size-small; left > 0; i, left = i+1, left-benchBigFile {
		if err := benchFile(rng, filepath.Join(data, "base/1", fmt.Sprintf("16384.%d", i)), min(left, benchBigFile)); err != nil {
			return restore.Manifest{}, err
		}
	}
	m, err := describe(ctx, data)
	if err != nil {
		return m, err
	}
	m.Format, m.Name, m.Engine, m.Version, m.Created, m.Complete = restore.FormatVersion, name, restore.Postgres, "15", time.Now().UTC(), true
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	return m, os.WriteFile(filepath.Join(catalog, name, restore.ManifestName), b, 0o600)
}

// describe lists data's directories (parents first) and files with their
// modes, sizes and SHA-256, as a backup's manifest does. The bench made
// every file itself: no symlinks, nothing special.
func describe(ctx context.Context, data string) (restore.Manifest, error) {
	var m restore.Manifest
	err := filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(data, p)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		mode := uint32(fi.Mode().Perm())
		if d.IsDir() {
			m.Dirs = append(m.Dirs, restore.Dir{Path: filepath.ToSlash(rel), Mode: mode})
			return nil
		}
		sum, err := sha256File(p)
		if err != nil {
			return err
		}
		m.Files = append(m.Files, restore.File{Path: filepath.ToSlash(rel), Size: fi.Size(), SHA256: sum, Mode: mode})
		m.Bytes += fi.Size()
		return nil
	})
	return m, err
}

func sha256File(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// benchFile writes n pseudo-random bytes to a new file.
func benchFile(rng *rand.Rand, p string, n int64) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	buf := make([]byte, min(n, 1<<20))
	for left := n; left > 0; left -= int64(len(buf)) {
		for i := 0; i+8 <= len(buf); i += 8 {
			v := rng.Uint64()
			for j := range 8 {
				buf[i+j] = byte(v >> (8 * j))
			}
		}
		if _, err := f.Write(buf[:min(left, int64(len(buf)))]); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}
