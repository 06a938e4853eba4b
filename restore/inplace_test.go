package restore

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mountTmpfs mounts a fresh tmpfs at dir, as a volume mounted at a data
// directory is, and unmounts it after the test.
func mountTmpfs(t *testing.T, dir string) {
	t.Helper()
	must(t, os.MkdirAll(dir, 0o755))
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs (the tests run as root): %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
}

func TestRunIntoMountPoint(t *testing.T) {
	root := t.TempDir()
	cat, dataDir := filepath.Join(root, "backups"), filepath.Join(root, "pg")
	fakeBackup(t, cat, "b1", Postgres, time.Now(), pgFiles("x"))
	mountTmpfs(t, dataDir)
	must(t, os.Mkdir(filepath.Join(dataDir, lostFound), 0o700)) // as mkfs.ext4 leaves it
	if mp, err := isMountPoint(dataDir); err != nil || !mp {
		t.Fatalf("isMountPoint = %v, %v", mp, err)
	}
	log, logs := testLogger(t)
	res, err := Run(context.Background(), baseConfig(dataDir, cat), log)
	must(t, err)
	if !res.Restored || !strings.Contains(logs.String(), "mount point") {
		t.Fatalf("Run = %+v", res)
	}
	checkRestored(t, dataDir, pgFiles("x"))
	if left := stagingLeft(t, dataDir); len(left) != 0 {
		t.Fatalf("staging left: %v", left)
	}
	if _, err := os.Stat(filepath.Join(dataDir, lostFound)); err != nil {
		t.Fatal("the volume's lost+found is gone")
	}
}

// An in-place restore killed after its commit, with some entries moved,
// is finished by the next start; one killed before its commit is removed.
func TestInPlaceCrashRecovery(t *testing.T) {
	root := t.TempDir()
	cat, dataDir := filepath.Join(root, "backups"), filepath.Join(root, "pg")
	fakeBackup(t, cat, "b1", Postgres, time.Now(), pgFiles("x"))
	mountTmpfs(t, dataDir)

	// Before the commit: a half-filled staging directory.
	uncommitted := filepath.Join(dataDir, ".zkfence-restore-00000000000000aa")
	writeTree(t, uncommitted, map[string]string{"PG_VERSION": "15", "base/1/x": "half"})
	// After the commit, base and global already moved up.
	committed := filepath.Join(dataDir, ".zkfence-restore-00000000000000bb")
	writeTree(t, committed, pgFiles("committed"))
	for _, n := range []string{"base", "global"} {
		must(t, os.Rename(filepath.Join(committed, n), filepath.Join(dataDir, n)))
	}
	rec := `{"engine":"postgres","entries":["base","global","pg_notify","pg_wal","postgresql.conf","PG_VERSION"],` +
		`"token":41,"uid":0,"gid":0,"mode":448}`
	must(t, os.WriteFile(filepath.Join(committed, commitName), []byte(rec), 0o600))

	log, logs := testLogger(t)
	res, err := Run(context.Background(), baseConfig(dataDir, cat), log)
	must(t, err)
	if res.Restored || !strings.Contains(logs.String(), "interrupted after its commit") {
		t.Fatalf("Run = %+v; want the committed restore finished, no new restore", res)
	}
	checkRestored(t, dataDir, pgFiles("committed"))
	if left := stagingLeft(t, dataDir); len(left) != 0 {
		t.Fatalf("staging left: %v", left)
	}
}

func TestInPlaceRecoveryRefusesForeignEntries(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "pg")
	mountTmpfs(t, dataDir)
	committed := filepath.Join(dataDir, ".zkfence-restore-00000000000000cc")
	writeTree(t, committed, pgFiles("committed"))
	rec := `{"entries":["PG_VERSION"],"token":41,"uid":0,"gid":0,"mode":448}`
	must(t, os.WriteFile(filepath.Join(committed, commitName), []byte(rec), 0o600))
	must(t, os.WriteFile(filepath.Join(dataDir, "someone-elses"), []byte("x"), 0o600))
	before := snapshot(t, dataDir)
	_, err := Run(context.Background(), baseConfig(dataDir, t.TempDir()), nil)
	if !errors.Is(err, ErrRestoreFailed) || !strings.Contains(err.Error(), "did not write") {
		t.Fatalf("Run = %v", err)
	}
	if snapshot(t, dataDir) != before {
		t.Fatal("data directory changed")
	}
}
