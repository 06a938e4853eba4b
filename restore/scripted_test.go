package restore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func scriptConfig(dataDir, cmd string) Config {
	return Config{DataDir: dataDir, Engine: Postgres, Cmd: cmd, CmdTimeout: 10 * time.Second, UID: -1, GID: -1, Token: 7}
}

func TestScriptRestores(t *testing.T) {
	root := t.TempDir()
	src, dataDir := filepath.Join(root, "src"), filepath.Join(root, "pg")
	writeTree(t, src, pgFiles("from script"))
	must(t, os.Chmod(filepath.Join(src, "PG_VERSION"), 0o666))
	cmd := `set -e
test "$ZKFENCE_TOKEN" = 7
test "$ZKFENCE_DATA_DIR" = "` + dataDir + `"
test "$ZKFENCE_ENGINE" = postgres
test "$(pwd)" = "$ZKFENCE_STAGING_DIR"
echo "restoring into $ZKFENCE_STAGING_DIR"
cp -R "` + src + `/." "$ZKFENCE_STAGING_DIR"`
	log, logs := testLogger(t)
	res, err := Run(context.Background(), scriptConfig(dataDir, cmd), log)
	must(t, err)
	if !res.Restored || res.Backup != "cmd" || res.Files != 6 {
		t.Fatalf("Run = %+v", res)
	}
	checkRestored(t, dataDir, pgFiles("from script"))
	if !strings.Contains(logs.String(), "restoring into") {
		t.Fatalf("script output not logged:\n%s", logs)
	}
	mk, err := ReadMarker(dataDir)
	must(t, err)
	if mk.Backup != "cmd" || mk.Token != 7 {
		t.Fatalf("marker %+v", mk)
	}
}

func TestScriptFailureLeavesDataDir(t *testing.T) {
	for name, tc := range map[string]struct {
		cmd     string
		timeout time.Duration
		want    string
	}{
		"exits 1":        {`echo 15 > PG_VERSION; mkdir base; exit 1`, 0, "failed"},
		"times out":      {`echo 15 > PG_VERSION; sleep 30 & wait`, 300 * time.Millisecond, "timed out"},
		"leaves no data": {`echo hello > README`, 0, "no postgres data directory"},
		"special file":   {`echo 15 > PG_VERSION; mkfifo pipe`, 0, "unsupported file type"},
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			dataDir := filepath.Join(root, "pg")
			must(t, os.Mkdir(dataDir, 0o750))
			before := snapshot(t, dataDir)
			cfg := scriptConfig(dataDir, tc.cmd)
			if tc.timeout > 0 {
				cfg.CmdTimeout = tc.timeout
			}
			start := time.Now()
			_, err := Run(context.Background(), cfg, nil)
			if !errors.Is(err, ErrRestoreFailed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run = %v, want ErrRestoreFailed (%s)", err, tc.want)
			}
			if d := time.Since(start); d > 8*time.Second {
				t.Fatalf("took %s: the script was not killed", d)
			}
			if snapshot(t, dataDir) != before || len(stagingLeft(t, dataDir)) != 0 {
				t.Fatalf("data directory changed or staging left: %v", stagingLeft(t, dataDir))
			}
			// The next start recovers.
			cfg.Cmd, cfg.CmdTimeout = `echo 15 > PG_VERSION`, 0
			res, err := Run(context.Background(), cfg, nil)
			must(t, err)
			if !res.Restored {
				t.Fatalf("next start: %+v", res)
			}
		})
	}
}

func TestScriptAutoDetectsEngine(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "my")
	cfg := scriptConfig(dataDir, `mkdir mysql && echo x > mysql/db.frm && echo "$ZKFENCE_ENGINE" > engine`)
	cfg.Engine = Auto
	res, err := Run(context.Background(), cfg, nil)
	must(t, err)
	if res.Engine != MySQL || strings.TrimSpace(readFile(t, filepath.Join(dataDir, "engine"))) != Auto {
		t.Fatalf("Run = %+v", res)
	}
}
