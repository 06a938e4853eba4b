package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/zkfence/zkfence/exitcode"
	"github.com/zkfence/zkfence/internal/freezer"
)

// tickingChild writes a tick with the time every 20ms, and so does a
// grandchild it daemonizes (setsid), as a database's helper would.
const tickingChild = `
setsid sh -c 'while :; do echo "tick 0 $(date +%s%N)" >> "$DIR/ticks"; sleep 0.02; done' &
while :; do echo "tick 0 $(date +%s%N)" >> "$DIR/ticks"; sleep 0.02; done
`

// TestFreezeGuardKillsAFrozenHolder is DESIGN.md's frozen machine on one
// host: the holder, its child and the child's daemonized grandchild are
// frozen together with the cgroup v2 freezer (what docker pause does on a
// cgroup v2 host) for longer than the session timeout. The freeze guard's
// kernel timer kills all of them while they are frozen, before ZooKeeper
// could grant the lock to the contender: the cgroup is empty before the
// contender's child starts, nothing of the holder ran after the freeze, and
// the holder exits 137.
func TestFreezeGuardKillsAFrozenHolder(t *testing.T) {
	needBinaryAndZK(t)
	f := freezer.ForTest(t, "zkfence-cmd-test", true)
	p, dirA, dirB := lockPath(t), t.TempDir(), t.TempDir()
	a := startWrapper(t, []string{"DIR=" + dirA}, runArgs(server.Addr(), p, "--freeze-guard", "on", "--", "sh", "-c", tickingChild)...)
	a.waitLog(`msg="freeze guard armed`, 15*time.Second)
	a.waitLog(`msg="child started"`, 15*time.Second)
	b := startWrapper(t, []string{"DIR=" + dirB, "NAME=b"}, runArgs(server.Addr(), p, "--", "sh", "-c", loyalChild)...)
	b.waitLog(`msg="waiting for the lock"`, 15*time.Second)
	waitTicks(t, filepath.Join(dirA, "ticks"), 10)

	if err := f.AddTree(a.cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Thaw() })
	if err := f.Freeze(); err != nil {
		t.Fatal(err)
	}
	frozen := time.Now()
	var emptied time.Time
	for emptied.IsZero() {
		if len(f.Procs()) == 0 {
			emptied = time.Now()
		} else if time.Since(frozen) > 20*time.Second {
			t.Fatalf("the frozen holder's processes %v are alive 20s after the freeze", f.Procs())
		}
		time.Sleep(5 * time.Millisecond)
	}
	bStart := waitFile(t, filepath.Join(dirB, "b"), 30*time.Second)
	if !emptied.Before(bStart) {
		t.Fatalf("the frozen holder's tree was gone %v after the freeze, the contender's child started %v after it: overlap",
			emptied.Sub(frozen), bStart.Sub(frozen))
	}
	if err := f.Thaw(); err != nil {
		t.Fatal(err)
	}
	if code := a.wait(10 * time.Second); code != exitcode.SignalBase+int(syscall.SIGKILL) {
		t.Fatalf("frozen holder exited %d, want 137: killed by its freeze guard", code)
	}
	ticks := readInstants(t, filepath.Join(dirA, "ticks"))
	if last := ticks[len(ticks)-1].at; last.After(frozen) {
		t.Fatalf("the holder's tree ran %v after the freeze", last.Sub(frozen))
	}
	t.Logf("freeze -> holder's tree killed (frozen) %v; -> contender's child started %v; margin %v",
		emptied.Sub(frozen), bStart.Sub(frozen), bStart.Sub(emptied))
	b.signal(syscall.SIGTERM)
	b.wait(15 * time.Second)
}

// waitTicks waits until path has n lines.
func waitTicks(t *testing.T, path string, n int) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if data, err := os.ReadFile(path); err == nil && countLines(data) >= n {
			return
		}
	}
	t.Fatalf("%s: fewer than %d ticks in 15s", path, n)
}

func countLines(b []byte) int {
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}
