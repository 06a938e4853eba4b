package main

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func runCheck(t *testing.T, args ...string) (int, string) {
	t.Helper()
	out, err := exec.Command(binary, append([]string{"check"}, args...)...).CombinedOutput()
	return exitCode(err), string(out)
}

func TestCheckGoodAndBrokenSetups(t *testing.T) {
	needZK(t)
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
			"ok       timing budget: G = syncLimit 2 x tickTime 200ms", "the child is dead 3.733s after it", "all checks passed"}},
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

func TestCheckReportsTheHolderAndTakesNoLock(t *testing.T) {
	needZK(t)
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
