package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zkfence/zkfence/internal/fstest"
)

func runCheck(t *testing.T, args ...string) (int, string) {
	t.Helper()
	out, err := exec.Command(binary, append([]string{"check"}, args...)...).CombinedOutput()
	return fstest.ExitStatus(err), string(out)
}

func TestCheckGoodAndBrokenSetups(t *testing.T) {
	needBinaryAndZK(t)
	p := lockPath(t)
	fast := append([]string{"--zk", server.Addr(), "--lock", p}, fastFlags...)
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"good", append(fast, "--", "true"), 0, []string{
			"ok       zookeeper: session", "negotiated session timeout 6s (requested 6s)",
			"ok       timing budget: G = syncLimit 2 x tickTime 200ms", "the child is dead 3.733s after it",
			"ok       freeze guard: the child gets a PID namespace of its own", "all checks passed"}},
		{"freeze guard off", append(fast, "--freeze-guard", "off", "--", "true"), 0, []string{"freeze guard: off"}},
		{"bad freeze guard", append(fast, "--freeze-guard", "maybe", "--", "true"), 1, []string{"PROBLEM  freeze guard"}},
		{"negotiated timeout too short", []string{"--zk", server.Addr(), "--lock", p, "--session-timeout", "30s", "--", "true"}, 1, []string{
			"negotiated session timeout 10s (requested 30s)", "PROBLEM  timing budget with the negotiated timeout"}},
		{"unreachable zookeeper", append([]string{"--zk", "127.0.0.1:1", "--lock", p, "--connect-timeout", "1s"}, append(fastFlags, "--", "true")...), 1, []string{
			"PROBLEM  zookeeper"}},
		{"bad flag value", append(fast, "--stop-signal", "NOPE", "--", "true"), 1, []string{"PROBLEM  flags: refused: --stop-signal"}},
		{"no command", fast, 1, []string{"PROBLEM  configuration", "no command"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := runCheck(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s", code, tt.code, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q\n%s", w, out)
				}
			}
		})
	}
}

func TestCheckStorageAndRestoreChangeNothing(t *testing.T) {
	needBinaryAndZK(t)
	p, dir := lockPath(t), t.TempDir()
	corrupt := fstest.LoopImageOf(t, 64, "ext4", fstest.Ext4Corrupt)
	target, data := filepath.Join(dir, "mnt"), filepath.Join(dir, "data")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(data, "junk"), 0o755); err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{"--zk", server.Addr(), "--lock", p}, fastFlags...),
		"--device", corrupt.Dev, "--mount", target, "--fstype", "ext4",
		"--data-dir", data, "--engine", "postgres", "--restore-from", filepath.Join(dir, "catalog"), "--", "true")
	code, out := runCheck(t, args...)
	if code != 1 || !strings.Contains(out, "PROBLEM  storage") || !strings.Contains(out, "would refuse") ||
		!strings.Contains(out, "PROBLEM  restore") || !strings.Contains(out, "without the engine's marker") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if fstest.IsMountPoint(target) {
		t.Fatal("check mounted the device")
	}
	if _, err := os.Stat(filepath.Join(data, "junk")); err != nil {
		t.Fatal("check changed the data directory")
	}
}

func TestCheckReportsTheHolderAndTakesNoLock(t *testing.T) {
	needBinaryAndZK(t)
	p := lockPath(t)
	holder := startWrapper(t, nil, runArgs(server.Addr(), p, "--", "sleep", "3600")...)
	holder.waitLog(`msg="child started"`, 15*time.Second)
	code, out := runCheck(t, append(append([]string{"--zk", server.Addr(), "--lock", p}, fastFlags...), "--", "true")...)
	if code != 0 || !strings.Contains(out, "held by") || !strings.Contains(out, "0 waiting") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	holder.signal(syscall.SIGTERM)
	holder.wait(15 * time.Second)
}
