package restore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zkfence/zkfence/internal/testlog"
)

// testLogger is a debug-level logger whose output is printed when the test
// fails (internal/testlog).
func testLogger(t testing.TB) (*slog.Logger, *testlog.Buffer) { return testlog.New(t) }

// pgFiles is a small synthetic PostgreSQL data directory; a key ending in
// "/" is an empty directory.
func pgFiles(content string) map[string]string {
	return map[string]string{
		"PG_VERSION":                      "15\n",
		"base/1/1259":                     content,
		"base/1/1259_fsm":                 strings.Repeat("f", 3000),
		"global/pg_control":               "control " + content,
		"pg_wal/000000010000000000000001": strings.Repeat("w", 70000),
		"pg_notify/":                      "",
		"postgresql.conf":                 "listen_addresses = ''\n",
	}
}

// mysqlFiles is a small synthetic MariaDB data directory.
func mysqlFiles(content string) map[string]string {
	return map[string]string{
		"ibdata1":        strings.Repeat("i", 50000) + content,
		"mysql/db.frm":   "frm " + content,
		"mysql/user.MAI": "mai",
		"d/t.ibd":        content,
	}
}

// writeTree writes files (see pgFiles) under dir.
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, p)
		if strings.HasSuffix(p, "/") {
			must(t, os.MkdirAll(full, 0o700))
			continue
		}
		must(t, os.MkdirAll(filepath.Dir(full), 0o700))
		must(t, os.WriteFile(full, []byte(content), 0o600))
	}
}

// fakeBackup writes a complete backup of files into catalog, as Backup
// would have, and returns its manifest.
func fakeBackup(t testing.TB, catalog, name, engine string, created time.Time, files map[string]string) Manifest {
	t.Helper()
	dir := filepath.Join(catalog, name)
	writeTree(t, filepath.Join(dir, DataSubdir), files)
	m, err := scanData(context.Background(), filepath.Join(dir, DataSubdir))
	must(t, err)
	m.Format, m.Name, m.Engine, m.Version, m.Created, m.Complete = FormatVersion, name, engine, "test", created, true
	must(t, m.validate())
	must(t, writeManifest(dir, m))
	return m
}

// snapshot describes everything under dir (modes, sizes, content hashes),
// to assert that a directory was left untouched. A missing dir is "".
func snapshot(t testing.TB, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b.WriteString(rel + " " + fi.Mode().String())
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			b.WriteString(" " + hex.EncodeToString(sum[:8]))
		}
		b.WriteString("\n")
		return nil
	})
	if os.IsNotExist(err) {
		return ""
	}
	must(t, err)
	return b.String()
}

// stagingLeft lists staging directories next to or inside dataDir.
func stagingLeft(t testing.TB, dataDir string) []string {
	t.Helper()
	var out []string
	for _, d := range []string{filepath.Dir(dataDir), dataDir} {
		names, _ := readNames(d)
		for _, n := range names {
			if strings.Contains(n, stagingTag) {
				out = append(out, filepath.Join(d, n))
			}
		}
	}
	return out
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	must(t, err)
	return string(b)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// baseConfig restores dataDir from catalog, keeping ownership.
func baseConfig(dataDir, catalog string) Config {
	return Config{DataDir: dataDir, Engine: Postgres, From: catalog, UID: -1, GID: -1, Token: 42}
}
