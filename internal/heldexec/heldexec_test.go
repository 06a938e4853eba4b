package heldexec

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zkfence/zkfence/internal/fstest"
)

// A process that ignores SIGTERM, and the grandchild it started, are both
// dead within milliseconds of the ctx's end: the lease's kill deadline is
// only K away when the ctx of a process under the lock ends.
func TestCancelKillsTheWholeGroupAtOnce(t *testing.T) {
	dir := t.TempDir()
	pids := filepath.Join(dir, "pids")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := Command(ctx, "/bin/sh", "-c", `trap "" TERM; sleep 60 & echo $$ $! > `+pids+`; wait`)
	done := make(chan error, 1)
	go func() { done <- Run(cmd) }()
	procs := waitPids(t, pids)
	cancel()
	cancelled := time.Now()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	for _, pid := range procs {
		waitGone(t, pid, cancelled)
	}
	if took := time.Since(cancelled); took > 2*time.Second {
		t.Fatalf("the group took %v to die", took)
	}
}

// Under WithPIDNamespace, a descendant that left the process group dies with
// the command: the kernel kills the namespace when its init dies.
func TestPIDNamespaceKillsDaemonizedDescendants(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED LOUDLY: a PID namespace needs root")
	}
	dir := t.TempDir()
	marker := filepath.Join(dir, "daemon-pid")
	ctx := WithPIDNamespace(context.Background())
	// The daemon (setsid) writes its host pid: $$ would be its pid in the
	// namespace, so it asks /proc (the host's) for the PPid of its grep.
	script := `setsid sh -c 'grep PPid /proc/self/status | cut -f2 > ` + marker + `; exec sleep 60' & sleep 0.3`
	cmd := Command(ctx, "/bin/sh", "-c", script)
	if err := Run(cmd); err != nil {
		t.Fatalf("run: %v", err)
	}
	pid := fstest.PidFile(marker)
	if pid == 0 {
		t.Fatalf("no pid in %s", marker)
	}
	waitGone(t, pid, time.Now())
}

func waitPids(t *testing.T, path string) []int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(path)
		if f := strings.Fields(string(b)); err == nil && len(f) == 2 {
			a, _ := strconv.Atoi(f[0])
			c, _ := strconv.Atoi(f[1])
			return []int{a, c}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the script did not start")
	return nil
}

// waitGone waits until pid is gone or a zombie (dead, not yet reaped by its
// new parent).
func waitGone(t *testing.T, pid int, since time.Time) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil || fstest.Zombie(pid) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("pid %d still running %v after the kill", pid, time.Since(since))
}
