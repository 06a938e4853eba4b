package restore

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestManifestValidate(t *testing.T) {
	sum := "0000000000000000000000000000000000000000000000000000000000000000"
	good := func() Manifest {
		return Manifest{Format: FormatVersion, Engine: Postgres, Bytes: 3,
			Dirs:  []Dir{{Path: ".", Mode: 0o700}, {Path: "base", Mode: 0o700}},
			Files: []File{{Path: "PG_VERSION", Size: 1, SHA256: sum}, {Path: "base/1", Size: 2, SHA256: sum}}}
	}
	if err := good().validate(); err != nil {
		t.Fatal(err)
	}
	tests := map[string]func(*Manifest){
		"format":         func(m *Manifest) { m.Format = 2 },
		"engine":         func(m *Manifest) { m.Engine = "auto" },
		"absolute path":  func(m *Manifest) { m.Files[1].Path = "/etc/passwd" },
		"dot-dot":        func(m *Manifest) { m.Files[1].Path = "base/../../x" },
		"unclean":        func(m *Manifest) { m.Files[1].Path = "base//1" },
		"duplicate":      func(m *Manifest) { m.Files[1].Path = "PG_VERSION"; m.Files[1].Size = 2 },
		"file as root":   func(m *Manifest) { m.Files[0].Path = "." },
		"missing parent": func(m *Manifest) { m.Dirs = m.Dirs[:1] },
		"bytes":          func(m *Manifest) { m.Bytes = 4 },
		"negative size":  func(m *Manifest) { m.Files[0].Size, m.Files[1].Size = -1, 4 },
		"short sha256":   func(m *Manifest) { m.Files[0].SHA256 = "abc" },
		"sizes overflow": func(m *Manifest) {
			m.Files[0].Size, m.Files[1].Size, m.Bytes = math.MaxInt64, math.MaxInt64, -2
		},
		"dir escapes":     func(m *Manifest) { m.Dirs[1].Path = ".." },
		"dir after child": func(m *Manifest) { m.Dirs = []Dir{{Path: "a/b"}, {Path: "a"}} },
	}
	for name, change := range tests {
		m := good()
		change(&m)
		if err := m.validate(); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: validate() = %v, want ErrCorrupt", name, err)
		}
	}
}

func TestListAndCandidates(t *testing.T) {
	cat := t.TempDir()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	fakeBackup(t, cat, "b1", Postgres, t0, pgFiles("1"))
	fakeBackup(t, cat, "b3", Postgres, t0.Add(2*time.Hour), pgFiles("3"))
	fakeBackup(t, cat, "b2", Postgres, t0.Add(time.Hour), pgFiles("2"))
	fakeBackup(t, cat, "m1", MySQL, t0.Add(3*time.Hour), mysqlFiles("m"))
	writeTree(t, cat, map[string]string{"b4-incomplete/data/PG_VERSION": "15", ".hidden/x": "x"})

	entries, err := List(cat)
	must(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name)
	}
	if got, want := join(names), "m1 b3 b2 b1 b4-incomplete"; got != want {
		t.Fatalf("List order = %s, want %s", got, want)
	}
	if !errors.Is(entries[4].Err, errIncomplete) {
		t.Fatalf("incomplete backup: Err = %v", entries[4].Err)
	}
	pick := func(cfg Config, want string) string {
		t.Helper()
		cfg.From = cat
		c, err := candidates(entries, cfg, want)
		if err != nil {
			return "error: " + errName(err)
		}
		var n []string
		for _, e := range c {
			n = append(n, e.Name)
		}
		return join(n)
	}
	for _, tt := range []struct {
		cfg  Config
		want string
		got  string
	}{
		{Config{}, Postgres, "b3 b2 b1"},
		{Config{}, MySQL, "m1"},
		{Config{}, Auto, "m1"},
		{Config{Before: t0.Add(90 * time.Minute)}, Postgres, "b2 b1"},
		{Config{Before: t0.Add(time.Hour)}, Postgres, "b2 b1"},
		{Config{Before: t0.Add(-time.Hour)}, Postgres, "error: ErrNoBackup"},
		{Config{Backup: "b2"}, Postgres, "b2"},
		{Config{Backup: "b2"}, MySQL, "error: ErrRestoreFailed"},
		{Config{Backup: "nope"}, Postgres, "error: ErrRestoreFailed"},
		{Config{Backup: "b4-incomplete"}, Postgres, "error: ErrRestoreFailed"},
	} {
		if got := pick(tt.cfg, tt.want); got != tt.got {
			t.Errorf("candidates(%+v, %s) = %s, want %s", tt.cfg, tt.want, got, tt.got)
		}
	}
	if e, err := List(cat + "/missing"); err != nil || len(e) != 0 {
		t.Fatalf("List(missing) = %v, %v; want nothing", e, err)
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

func errName(err error) string {
	switch {
	case errors.Is(err, ErrNoBackup):
		return "ErrNoBackup"
	case errors.Is(err, ErrRestoreFailed):
		return "ErrRestoreFailed"
	}
	return err.Error()
}
