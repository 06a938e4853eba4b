package dbtest

import (
	"os"
	"path/filepath"
	"testing"
)

// TempDir returns a new temporary directory, removed after the test, that
// the engines' OS users can traverse (t.TempDir makes 0700 directories,
// which postgres and mysql cannot enter).
func TempDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
