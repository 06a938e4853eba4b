package restore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// Sizes of the synthetic data directory: relation segments and WAL in big
// files, and the many small files of catalogs and free space maps.
const (
	benchBigFile   = 64 << 20
	benchSmallFile = 8 << 10
	benchSmallPart = 20 // one byte in benchSmallPart is in small files
)

// benchBackup writes a backup of about size bytes of incompressible data
// into catalog, in the format Backup writes, and returns its manifest.
func benchBackup(ctx context.Context, catalog string, size int64) (Manifest, error) {
	name := "bench-postgres"
	data := filepath.Join(catalog, name, DataSubdir)
	rng := rand.New(rand.NewChaCha8([32]byte{1}))
	if err := os.MkdirAll(filepath.Join(data, "base/1"), 0o700); err != nil {
		return Manifest{}, err
	}
	if err := os.WriteFile(filepath.Join(data, "PG_VERSION"), []byte("15\n"), 0o600); err != nil {
		return Manifest{}, err
	}
	small := size / benchSmallPart
	for i := 0; int64(i)*benchSmallFile < small; i++ {
		if err := benchFile(rng, filepath.Join(data, "base/1", fmt.Sprintf("%d", 10000+i)), benchSmallFile); err != nil {
			return Manifest{}, err
		}
	}
	for i, left := 0, size-small; left > 0; i, left = i+1, left-benchBigFile {
		if err := benchFile(rng, filepath.Join(data, "base/1", fmt.Sprintf("16384.%d", i)), min(left, benchBigFile)); err != nil {
			return Manifest{}, err
		}
	}
	m, err := scanData(ctx, data)
	if err != nil {
		return m, err
	}
	m.Format, m.Name, m.Engine, m.Version, m.Created, m.Complete = FormatVersion, name, Postgres, "15", time.Now().UTC(), true
	return m, writeManifest(filepath.Join(catalog, name), m)
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
