package restore

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// helperEnv carries the Config of the re-executed test binary that plays a
// wrapper killed in the middle of a restore.
const helperEnv = "ZKFENCE_RESTORE_TEST_HELPER"

// restoreHelper runs Run with the Config in helperEnv, slowed down to
// 50 ms per MiB copied, and says "copying" on stderr at the first chunk.
func restoreHelper() int {
	var cfg Config
	if err := json.Unmarshal([]byte(os.Getenv(helperEnv)), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var once sync.Once
	testHookChunk = func(int) {
		once.Do(func() { fmt.Fprintln(os.Stderr, "copying") })
		time.Sleep(50 * time.Millisecond)
	}
	_, err := Run(context.Background(), cfg, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// killMidRestore starts the helper with cfg, waits for a stderr line
// containing signal, SIGKILLs it, and returns its stderr so far.
func killMidRestore(t *testing.T, cfg Config, signal string) string {
	t.Helper()
	b, err := json.Marshal(cfg)
	must(t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+string(b))
	stderr, err := cmd.StderrPipe()
	must(t, err)
	must(t, cmd.Start())
	var out strings.Builder
	sc := bufio.NewScanner(stderr)
	found := false
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), signal) {
			found = true
			break
		}
	}
	must(t, cmd.Process.Signal(syscall.SIGKILL))
	go func() { _, _ = bufio.NewReader(stderr).WriteTo(&strings.Builder{}) }()
	_ = cmd.Wait()
	if !found {
		t.Fatalf("helper never said %q:\n%s", signal, out.String())
	}
	return out.String()
}

func TestKilledMidRestoreLeavesDataDirAndNextStartRecovers(t *testing.T) {
	root := t.TempDir()
	cat, dataDir := filepath.Join(root, "backups"), filepath.Join(root, "pg")
	files := pgFiles("rows")
	files["base/1/big"] = strings.Repeat("x", 24<<20) // 24 chunks: >1 s at 50 ms each
	fakeBackup(t, cat, "b1", Postgres, time.Now(), files)
	must(t, os.Mkdir(dataDir, 0o755))
	before := snapshot(t, dataDir)

	killMidRestore(t, baseConfig(dataDir, cat), "copying")

	if got := snapshot(t, dataDir); got != before {
		t.Fatalf("data directory changed by a killed restore:\n%s\nwas:\n%s", got, before)
	}
	if left := stagingLeft(t, dataDir); len(left) != 1 {
		t.Fatalf("want the killed restore's staging directory left behind, got %v", left)
	}
	log, logs := testLogger(t)
	res, err := Run(context.Background(), baseConfig(dataDir, cat), log)
	must(t, err)
	if !res.Restored || readFile(t, filepath.Join(dataDir, "base/1/big")) != files["base/1/big"] {
		t.Fatalf("next start did not restore: %+v", res)
	}
	if left := stagingLeft(t, dataDir); len(left) != 0 || !strings.Contains(logs.String(), "interrupted restore") {
		t.Fatalf("stale staging not cleaned up: %v", left)
	}
}

func TestKilledMidScriptLeavesDataDirAndKillsScript(t *testing.T) {
	root := t.TempDir()
	dataDir := filepath.Join(root, "pg")
	cfg := Config{DataDir: dataDir, Engine: Postgres, UID: -1, GID: -1,
		Cmd: `echo "script pid $$"; echo 15 > PG_VERSION; sleep 30`}
	out := killMidRestore(t, cfg, "script pid")

	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Fatalf("data directory created by a killed restore: %v", err)
	}
	m := regexp.MustCompile(`script pid (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no script pid in %s", out)
	}
	pid, _ := strconv.Atoi(m[1])
	waitGone(t, pid)

	cfg.Cmd = `echo 15 > PG_VERSION`
	log, _ := testLogger(t)
	res, err := Run(context.Background(), cfg, log)
	must(t, err)
	if !res.Restored || len(stagingLeft(t, dataDir)) != 0 {
		t.Fatalf("next start: %+v, staging left %v", res, stagingLeft(t, dataDir))
	}
}

// waitGone waits for a process to be gone (PDEATHSIG killed it).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(b), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("restore script %d still runs after its wrapper was killed", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
