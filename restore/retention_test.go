package restore

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestPrune(t *testing.T) {
	cat := t.TempDir()
	t0 := time.Now().Add(-10 * time.Hour)
	for i, name := range []string{"p1", "p2", "p3", "p4"} {
		fakeBackup(t, cat, name, Postgres, t0.Add(time.Duration(i)*time.Hour), pgFiles(name))
	}
	fakeBackup(t, cat, "m1", MySQL, t0, mysqlFiles("m"))
	writeTree(t, cat, map[string]string{
		"crashed-old/data/PG_VERSION": "15",
		"running/data/PG_VERSION":     "15",
		"broken/manifest.json":        "{",
	})
	old := time.Now().Add(-48 * time.Hour)
	must(t, os.Chtimes(filepath.Join(cat, "crashed-old"), old, old))

	log, _ := testLogger(t)
	must(t, Prune(cat, Postgres, 2, DefaultStaleAfter, log))

	names, err := readNames(cat)
	must(t, err)
	slices.Sort(names)
	want := []string{"broken", "m1", "p3", "p4", "running"}
	if !slices.Equal(names, want) {
		t.Fatalf("after Prune: %v, want %v", names, want)
	}
	must(t, Prune(cat, Postgres, 0, DefaultStaleAfter, log)) // keep all
	if n, _ := readNames(cat); len(n) != len(want) {
		t.Fatalf("keep 0 removed backups: %v", n)
	}
}
