package restore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRunRestoresMissingAndEmptyDataDir(t *testing.T) {
	for _, existing := range []bool{false, true} {
		t.Run(map[bool]string{false: "missing", true: "empty"}[existing], func(t *testing.T) {
			root := t.TempDir()
			cat, dataDir := filepath.Join(root, "backups"), filepath.Join(root, "pg")
			m := fakeBackup(t, cat, "b1", Postgres, time.Now(), pgFiles("rows"))
			if existing {
				must(t, os.Mkdir(dataDir, 0o777))
			}
			log, _ := testLogger(t)
			res, err := Run(context.Background(), baseConfig(dataDir, cat), log)
			must(t, err)
			if !res.Restored || res.Backup != "b1" || res.Bytes != m.Bytes || res.Files != len(m.Files) {
				t.Fatalf("Run = %+v", res)
			}
			checkRestored(t, dataDir, pgFiles("rows"))
			mk, err := ReadMarker(dataDir)
			must(t, err)
			if mk.Backup != "b1" || mk.Token != 42 || mk.Bytes != m.Bytes || mk.Engine != Postgres || mk.RestoredAt.IsZero() {
				t.Fatalf("marker = %+v", mk)
			}
			if left := stagingLeft(t, dataDir); len(left) != 0 {
				t.Fatalf("staging left: %v", left)
			}
		})
	}
}

// checkRestored checks content and PostgreSQL's modes.
func checkRestored(t *testing.T, dataDir string, files map[string]string) {
	t.Helper()
	fi, err := os.Stat(dataDir)
	must(t, err)
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory mode %v, want 0700", fi.Mode().Perm())
	}
	for p, want := range files {
		full := filepath.Join(dataDir, p)
		if strings.HasSuffix(p, "/") {
			if fi, err := os.Stat(full); err != nil || !fi.IsDir() {
				t.Errorf("%s: want an empty directory: %v", p, err)
			}
			continue
		}
		if got := readFile(t, full); got != want {
			t.Errorf("%s: content differs", p)
		}
		if m := mustStat(t, full).Mode().Perm(); m != 0o600 && m != 0o640 {
			t.Errorf("%s: mode %v, want 0600 or 0640", p, m)
		}
	}
}

func TestRunLeavesADatabaseAlone(t *testing.T) {
	root := t.TempDir()
	cat, dataDir := filepath.Join(root, "backups"), filepath.Join(root, "pg")
	fakeBackup(t, cat, "b1", Postgres, time.Now(), pgFiles("backup"))
	writeTree(t, dataDir, pgFiles("live"))
	before := snapshot(t, dataDir)
	for _, engine := range []string{Postgres, Auto} {
		cfg := baseConfig(dataDir, cat)
		cfg.Engine = engine
		res, err := Run(context.Background(), cfg, nil)
		must(t, err)
		if res.Restored || !strings.Contains(res.Reason, "PG_VERSION") || res.Engine != Postgres {
			t.Fatalf("Run = %+v", res)
		}
	}
	if snapshot(t, dataDir) != before {
		t.Fatal("a data directory holding a database was changed")
	}
}

func TestRunRefusesNonEmptyDataDirWithoutMarker(t *testing.T) {
	root := t.TempDir()
	cat, dataDir := filepath.Join(root, "backups"), filepath.Join(root, "pg")
	fakeBackup(t, cat, "b1", Postgres, time.Now(), pgFiles("backup"))
	for name, files := range map[string]map[string]string{
		"someone's files":        {"notes.txt": "keep me"},
		"a mysql data dir":       mysqlFiles("x"),
		"a non-empty lost+found": {"lost+found/#123": "orphan"},
	} {
		t.Run(name, func(t *testing.T) {
			must(t, os.RemoveAll(dataDir))
			writeTree(t, dataDir, files)
			before := snapshot(t, dataDir)
			_, err := Run(context.Background(), baseConfig(dataDir, cat), nil)
			if !errors.Is(err, ErrRestoreFailed) || !strings.Contains(err.Error(), "not empty") {
				t.Fatalf("Run = %v, want ErrRestoreFailed (not empty)", err)
			}
			if snapshot(t, dataDir) != before || len(stagingLeft(t, dataDir)) != 0 {
				t.Fatal("data directory or its parent changed")
			}
		})
	}
}

func TestRunSkipsCorruptNewestBackup(t *testing.T) {
	corruptions := map[string]func(t *testing.T, dir string){
		"flipped byte": func(t *testing.T, dir string) {
			p := filepath.Join(dir, "data/base/1/1259")
			b := []byte(readFile(t, p))
			b[0] ^= 1
			must(t, os.WriteFile(p, b, 0o600))
		},
		"truncated file": func(t *testing.T, dir string) {
			must(t, os.Truncate(filepath.Join(dir, "data/pg_wal/000000010000000000000001"), 10))
		},
		"missing file": func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, "data/PG_VERSION"))) },
		"bad manifest": func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, ManifestName), []byte(`{"format":1,`), 0o644))
		},
	}
	for name, corrupt := range corruptions {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			cat, dataDir := filepath.Join(root, "backups"), filepath.Join(root, "pg")
			t0 := time.Now().Add(-time.Hour)
			fakeBackup(t, cat, "old", Postgres, t0, pgFiles("old"))
			fakeBackup(t, cat, "new", Postgres, t0.Add(time.Minute), pgFiles("new"))
			corrupt(t, filepath.Join(cat, "new"))
			log, logs := testLogger(t)
			res, err := Run(context.Background(), baseConfig(dataDir, cat), log)
			must(t, err)
			if res.Backup != "old" {
				t.Fatalf("restored %q, want old", res.Backup)
			}
			checkRestored(t, dataDir, pgFiles("old"))
			if name != "bad manifest" && !strings.Contains(logs.String(), "backup does not verify") {
				t.Fatalf("no warning about the corrupt backup:\n%s", logs)
			}
			// The operator asked for the corrupt one: no fallback.
			must(t, os.RemoveAll(dataDir))
			cfg := baseConfig(dataDir, cat)
			cfg.Backup = "new"
			if _, err := Run(context.Background(), cfg, nil); !errors.Is(err, ErrRestoreFailed) {
				t.Fatalf("named corrupt backup: Run = %v, want ErrRestoreFailed", err)
			}
			if _, err := os.Stat(dataDir); !os.IsNotExist(err) || len(stagingLeft(t, dataDir)) != 0 {
				t.Fatalf("failed restore left something: %v %v", err, stagingLeft(t, dataDir))
			}
		})
	}
}

func TestRunAllBackupsCorruptFails(t *testing.T) {
	root := t.TempDir()
	cat, dataDir := filepath.Join(root, "backups"), filepath.Join(root, "pg")
	fakeBackup(t, cat, "b1", Postgres, time.Now(), pgFiles("x"))
	must(t, os.WriteFile(filepath.Join(cat, "b1/data/PG_VERSION"), []byte("16\n"), 0o600))
	_, err := Run(context.Background(), baseConfig(dataDir, cat), nil)
	if !errors.Is(err, ErrRestoreFailed) || errors.Is(err, ErrNoBackup) {
		t.Fatalf("Run = %v, want ErrRestoreFailed and not ErrNoBackup", err)
	}
}

func TestRunNoBackup(t *testing.T) {
	root := t.TempDir()
	dataDir := filepath.Join(root, "pg")
	for name, cfg := range map[string]Config{
		"empty catalog":    baseConfig(dataDir, root),
		"missing catalog":  baseConfig(dataDir, filepath.Join(root, "none")),
		"no source":        {DataDir: dataDir, UID: -1, GID: -1},
		"script says none": {DataDir: dataDir, Cmd: "true", UID: -1, GID: -1},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Run(context.Background(), cfg, nil)
			if !errors.Is(err, ErrNoBackup) || errors.Is(err, ErrRestoreFailed) {
				t.Fatalf("Run = %v, want ErrNoBackup only", err)
			}
			if cfg.From == "" && cfg.Cmd == "" {
				return // Validate refuses Required without a source
			}
			cfg.Required = true
			_, err = Run(context.Background(), cfg, nil)
			if !errors.Is(err, ErrRestoreFailed) || errors.Is(err, ErrNoBackup) {
				t.Fatalf("Required: Run = %v, want ErrRestoreFailed only", err)
			}
			if _, err := os.Stat(dataDir); !os.IsNotExist(err) || len(stagingLeft(t, dataDir)) != 0 {
				t.Fatal("a refused restore left something behind")
			}
		})
	}
}

func TestRunCleansOnlyItsOwnStaleStaging(t *testing.T) {
	root := t.TempDir()
	cat, dataDir := filepath.Join(root, "backups"), filepath.Join(root, "pg")
	fakeBackup(t, cat, "b1", Postgres, time.Now(), pgFiles("x"))
	stale := filepath.Join(root, ".pg.zkfence-restore-0123456789abcdef")
	keep := []string{
		filepath.Join(root, ".pg.zkfence-restore-0123456789abcdeX"),  // not the pattern
		filepath.Join(root, ".pg2.zkfence-restore-0123456789abcdef"), // another data dir's
		filepath.Join(root, ".pg.zkfence-restore-0123456789abcde"),   // too short
	}
	writeTree(t, stale, map[string]string{"PG_VERSION": "15", "half/written": "x"})
	for _, k := range keep {
		writeTree(t, k, map[string]string{"x": "x"})
	}
	link := filepath.Join(root, ".pg.zkfence-restore-fedcba9876543210")
	must(t, os.Symlink(filepath.Join(root, "backups"), link))
	log, _ := testLogger(t)
	_, err := Run(context.Background(), baseConfig(dataDir, cat), log)
	must(t, err)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatal("stale staging directory not removed")
	}
	for _, k := range append(keep, link, filepath.Join(cat, "b1/data/PG_VERSION")) {
		if _, err := os.Stat(k); err != nil {
			t.Fatalf("%s removed: %v", k, err)
		}
	}
}

func TestRunOwnerAndModes(t *testing.T) {
	root := t.TempDir()
	cat, dataDir := filepath.Join(root, "backups"), filepath.Join(root, "pg")
	fakeBackup(t, cat, "b1", Postgres, time.Now(), pgFiles("x"))
	// Modes the engine would refuse, as a careless copy could record them.
	must(t, os.Chmod(filepath.Join(cat, "b1/data/base/1/1259"), 0o666))
	must(t, os.Chmod(filepath.Join(cat, "b1/data/base"), 0o777))
	fakeBackup(t, cat, "b2", Postgres, time.Now(), pgFiles("x")) // fresh manifest with those modes
	must(t, os.RemoveAll(filepath.Join(cat, "b1")))
	cfg := baseConfig(dataDir, cat)
	cfg.UID, cfg.GID = 4321, 8765
	_, err := Run(context.Background(), cfg, nil)
	must(t, err)
	must(t, filepath.Walk(dataDir, func(p string, fi os.FileInfo, err error) error {
		must(t, err)
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != 4321 || st.Gid != 8765 {
			t.Errorf("%s owned by %d:%d", p, st.Uid, st.Gid)
		}
		if fi.Mode().Perm()&0o027 != 0 {
			t.Errorf("%s: mode %v gives group write or others access", p, fi.Mode().Perm())
		}
		return nil
	}))
}

func TestRunInheritsOwnerOfEmptyDataDir(t *testing.T) {
	root := t.TempDir()
	cat, dataDir := filepath.Join(root, "backups"), filepath.Join(root, "pg")
	fakeBackup(t, cat, "b1", Postgres, time.Now(), pgFiles("x"))
	must(t, os.Mkdir(dataDir, 0o700))
	must(t, os.Chown(dataDir, 1234, 5678))
	_, err := Run(context.Background(), baseConfig(dataDir, cat), nil)
	must(t, err)
	st := statT(t, filepath.Join(dataDir, "PG_VERSION"))
	if st.Uid != 1234 || st.Gid != 5678 {
		t.Fatalf("owner %d:%d, want the empty data directory's 1234:5678", st.Uid, st.Gid)
	}
}

func statT(t *testing.T, p string) *syscall.Stat_t {
	t.Helper()
	fi, err := os.Lstat(p)
	must(t, err)
	return fi.Sys().(*syscall.Stat_t)
}

func TestRunLogsProgressOfLongRestores(t *testing.T) {
	root := t.TempDir()
	cat, dataDir := filepath.Join(root, "backups"), filepath.Join(root, "pg")
	files := pgFiles("x")
	files["base/1/big"] = strings.Repeat("y", 8<<20)
	fakeBackup(t, cat, "b1", Postgres, time.Now(), files)
	testHookChunk = func(int) { time.Sleep(30 * time.Millisecond) }
	defer func() { testHookChunk = nil }()
	cfg := baseConfig(dataDir, cat)
	cfg.ProgressEvery = 50 * time.Millisecond
	log, logs := testLogger(t)
	_, err := Run(context.Background(), cfg, log)
	must(t, err)
	for _, want := range []string{"restore progress", "mb_per_s=", "eta=", "percent="} {
		if !strings.Contains(logs.String(), want) {
			t.Fatalf("progress log lacks %q:\n%s", want, logs)
		}
	}
}

func TestRunCancelledChangesNothing(t *testing.T) {
	root := t.TempDir()
	cat, dataDir := filepath.Join(root, "backups"), filepath.Join(root, "pg")
	files := pgFiles("x")
	files["base/1/big"] = strings.Repeat("y", 8<<20)
	fakeBackup(t, cat, "b1", Postgres, time.Now(), files)
	ctx, cancel := context.WithCancel(context.Background())
	testHookChunk = func(int) { cancel() } // the lock is lost during the copy
	defer func() { testHookChunk = nil }()
	_, err := Run(ctx, baseConfig(dataDir, cat), nil)
	if !errors.Is(err, ErrRestoreFailed) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want ErrRestoreFailed wrapping context.Canceled", err)
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) || len(stagingLeft(t, dataDir)) != 0 {
		t.Fatal("a cancelled restore left something")
	}
}

func mustStat(t *testing.T, p string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(p)
	must(t, err)
	return fi
}
