package restore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A symlink at the data directory, or at any directory on its way, is
// refused: root never restores into (or creates directories in) a place
// someone with write access to the volume chose.
func TestRunRefusesSymlinksOnTheWayToTheDataDir(t *testing.T) {
	for _, tc := range []struct{ name, link, dataDir string }{
		{"data directory", "pg", "pg"},
		{"a parent", "vol", "vol/pg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			cat := filepath.Join(root, "backups")
			fakeBackup(t, cat, "b1", Postgres, time.Now(), pgFiles("x"))
			// An empty system directory, as a link's target would be.
			system := filepath.Join(t.TempDir(), "system")
			must(t, os.Mkdir(system, 0o755))
			target := system
			if tc.name == "a parent" {
				target = filepath.Dir(system)
			}
			must(t, os.Symlink(target, filepath.Join(root, tc.link)))
			before := snapshot(t, filepath.Dir(system))
			cfg := baseConfig(filepath.Join(root, tc.dataDir), cat)
			cfg.UID, cfg.GID = 4321, 4321
			_, err := Run(context.Background(), cfg, nil)
			if !errors.Is(err, ErrRestoreFailed) || !strings.Contains(err.Error(), "symbolic link") {
				t.Fatalf("Run = %v, want a refusal naming the symbolic link", err)
			}
			if after := snapshot(t, filepath.Dir(system)); after != before {
				t.Fatalf("the link's target changed:\n%s\nwas\n%s", after, before)
			}
			if _, problems := Preflight(cfg); len(problems) == 0 {
				t.Fatal("Preflight did not report the symbolic link")
			}
		})
	}
}

// A planted "interrupted restore" (a staging directory with a commit record
// listing the live data directory's entries, owned and moded by someone
// else) never makes root chown or chmod the live data directory.
func TestPlantedInterruptedRestoreIsLeftAlone(t *testing.T) {
	for _, tc := range []struct {
		name     string
		uid      int
		mode     os.FileMode
		rawToken string
	}{
		{"another owner", 4321, 0o777, "1"},
		{"root-owned but open to others", 0, 0o777, "1"},
		{"root-owned 0700 with a token from the future", 0, 0o700, "43"},
		{"root-owned 0700 without a token", 0, 0o700, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "pg")
			writeTree(t, dataDir, pgFiles("live"))
			must(t, os.Chown(dataDir, 1234, 1234))
			must(t, os.Chmod(dataDir, 0o700))
			planted := filepath.Join(dataDir, ".zkfence-restore-00000000000000dd")
			must(t, os.Mkdir(planted, 0o700))
			rec := `{"engine":"postgres","entries":["base","global","pg_notify","pg_wal","postgresql.conf","PG_VERSION"]`
			if tc.rawToken != "" {
				rec += `,"token":` + tc.rawToken + `,"uid":` + strconv.Itoa(tc.uid) + `,"gid":0,"mode":511`
			}
			must(t, os.WriteFile(filepath.Join(planted, commitName), []byte(rec+"}"), 0o600))
			must(t, os.Chown(planted, tc.uid, tc.uid))
			must(t, os.Chmod(planted, tc.mode))
			log, logs := testLogger(t)
			res, err := Run(context.Background(), baseConfig(dataDir, t.TempDir()), log)
			if err != nil || res.Restored {
				t.Fatalf("Run = %+v, %v; want the database left alone", res, err)
			}
			st := statT(t, dataDir)
			if st.Uid != 1234 || st.Gid != 1234 || st.Mode&0o777 != 0o700 {
				t.Fatalf("live data directory now %d:%d mode %o", st.Uid, st.Gid, st.Mode&0o777)
			}
			if _, err := os.Stat(planted); err != nil || !strings.Contains(logs.String(), "not one zkfence made") {
				t.Fatalf("the planted directory was not left alone with a warning (%v):\n%s", err, logs)
			}
		})
	}
}

// A directory of a backup that is a symlink is refused, not followed, and
// no message tells the size or SHA-256 of what was read.
func TestBackupWithASymlinkedDirIsRefused(t *testing.T) {
	for _, same := range []bool{true, false} {
		t.Run(map[bool]string{true: "secret matches the manifest", false: "secret differs"}[same], func(t *testing.T) {
			root := t.TempDir()
			cat, dataDir := filepath.Join(root, "backups"), filepath.Join(root, "pg")
			secret := "root only: " + strings.Repeat("s", 1000)
			files := pgFiles("x")
			if same {
				files["base/1/1259"] = secret
			}
			fakeBackup(t, cat, "b1", Postgres, time.Now(), files)
			secretDir := filepath.Join(t.TempDir(), "secret")
			must(t, os.MkdirAll(filepath.Join(secretDir, "1"), 0o700))
			// Root-only files where the backup's base/ was: with "same",
			// exactly what the manifest describes.
			must(t, os.WriteFile(filepath.Join(secretDir, "1", "1259"), []byte(secret), 0o600))
			must(t, os.WriteFile(filepath.Join(secretDir, "1", "1259_fsm"), []byte(files["base/1/1259_fsm"]), 0o600))
			base := filepath.Join(cat, "b1", DataSubdir, "base")
			must(t, os.RemoveAll(base))
			must(t, os.Symlink(secretDir, base))
			cfg := baseConfig(dataDir, cat)
			cfg.Backup = "b1"
			log, logs := testLogger(t)
			_, err := Run(context.Background(), cfg, log)
			if err == nil {
				t.Fatal("a backup with a symlinked directory was restored")
			}
			sum := sha256.Sum256([]byte(secret))
			for _, leak := range []string{hex.EncodeToString(sum[:]), strconv.Itoa(len(secret))} {
				if !same && (strings.Contains(err.Error(), leak) || strings.Contains(logs.String(), leak)) {
					t.Fatalf("the error or log tells %q of the file read:\n%v\n%s", leak, err, logs)
				}
			}
			if !strings.Contains(err.Error(), "symbolic link") {
				t.Fatalf("Run = %v, want a refusal naming the symbolic link", err)
			}
			if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
				t.Fatal("the data directory was created")
			}
		})
	}
}

// A corrupt file's message names the manifest's size and hash, never what
// was read.
func TestCorruptFileMessageTellsOnlyTheExpected(t *testing.T) {
	root := t.TempDir()
	cat, dataDir := filepath.Join(root, "backups"), filepath.Join(root, "pg")
	m := fakeBackup(t, cat, "b1", Postgres, time.Now(), pgFiles("x"))
	p := filepath.Join(cat, "b1", DataSubdir, "base/1/1259")
	must(t, os.WriteFile(p, []byte("y"), 0o600)) // same size, other content
	sum := sha256.Sum256([]byte("y"))
	cfg := baseConfig(dataDir, cat)
	cfg.Backup = "b1"
	_, err := Run(context.Background(), cfg, nil)
	if !errors.Is(err, ErrCorrupt) || strings.Contains(err.Error(), hex.EncodeToString(sum[:])) ||
		!strings.Contains(err.Error(), "mismatch") {
		t.Fatalf("Run = %v; want a mismatch without the read file's hash", err)
	}
	var want string
	for _, f := range m.Files {
		if f.Path == "base/1/1259" {
			want = f.SHA256
		}
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("Run = %v; want the manifest's hash %s", err, want)
	}
}

// A manifest that is a symlink (to a real manifest elsewhere) makes no
// backup: it is corrupt, never followed.
func TestSymlinkedManifestIsCorrupt(t *testing.T) {
	cat, elsewhere := t.TempDir(), t.TempDir()
	fakeBackup(t, cat, "b1", Postgres, time.Now(), pgFiles("x"))
	fakeBackup(t, elsewhere, "b1", Postgres, time.Now(), pgFiles("x"))
	p := filepath.Join(cat, "b1", ManifestName)
	must(t, os.Remove(p))
	must(t, os.Symlink(filepath.Join(elsewhere, "b1", ManifestName), p))
	entries, err := List(cat)
	must(t, err)
	if len(entries) != 1 || entries[0].Complete() || !errors.Is(entries[0].Err, ErrCorrupt) {
		t.Fatalf("List = %+v, want b1 corrupt", entries)
	}
}
