package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zkfence/zkfence/exitcode"
	"github.com/zkfence/zkfence/internal/zkserver"
)

// exclusiveChild enters a critical section that fails loudly when shared:
// mkdir is atomic, so a second child inside at the same time records a
// violation. It logs "start"/"end" with its token and the time.
const exclusiveChild = `
mkdir "$DIR/inside" 2>/dev/null || echo "violation $ZKFENCE_TOKEN $(date +%s%N)" >> "$DIR/violations"
echo "start $ZKFENCE_TOKEN $(date +%s%N)" >> "$DIR/events"
sleep 0.3
echo "end $ZKFENCE_TOKEN $(date +%s%N)" >> "$DIR/events"
rmdir "$DIR/inside"
`

func TestMutualExclusionAndHandoff(t *testing.T) {
	for _, n := range []int{2, 5} {
		t.Run(fmt.Sprintf("%d wrappers", n), func(t *testing.T) {
			needBinaryAndZK(t)
			p, dir := lockPath(t), t.TempDir()
			var ws []*wrapper
			for i := 0; i < n; i++ {
				// T = 10s: a handoff that waited for the session to expire
				// would take 10s; an explicit release takes milliseconds.
				args := runArgs(server.Addr(), p, "--session-timeout", "10s", "--", "sh", "-c", exclusiveChild)
				w := startWrapper(t, []string{"DIR=" + dir}, args...)
				ws = append(ws, w)
			}
			for _, w := range ws {
				if code := w.wait(60 * time.Second); code != 0 {
					t.Fatalf("wrapper exited %d, want the child's 0", code)
				}
			}
			if v, err := os.ReadFile(filepath.Join(dir, "violations")); err == nil {
				t.Fatalf("two children inside at once:\n%s", v)
			}
			events := readInstants(t, filepath.Join(dir, "events"))
			if len(events) != 2*n {
				t.Fatalf("%d events, want %d: %+v", len(events), 2*n, events)
			}
			var gaps []time.Duration
			for i := 0; i < len(events); i += 2 {
				start, end := events[i], events[i+1]
				if start.what != "start" || end.what != "end" || start.token != end.token {
					t.Fatalf("events interleave: %+v then %+v", start, end)
				}
				if i > 0 {
					prev := events[i-1]
					if start.token <= prev.token {
						t.Fatalf("token went from %d to %d: must grow", prev.token, start.token)
					}
					gaps = append(gaps, start.at.Sub(prev.at))
				}
			}
			sort.Slice(gaps, func(i, j int) bool { return gaps[i] < gaps[j] })
			t.Logf("handoffs (child end -> next child start): %v", gaps)
			if worst := gaps[len(gaps)-1]; worst > 5*time.Second {
				t.Fatalf("handoff took %v: the lock was not released at once", worst)
			}
		})
	}
}

// loyalChild records its start, then runs until stopped, recording the stop
// signal it gets.
const loyalChild = `
echo "start $ZKFENCE_TOKEN $(date +%s%N)" >> "$DIR/$NAME"
trap 'echo "term $ZKFENCE_TOKEN $(date +%s%N)" >> "$DIR/$NAME"; exit 0' TERM
while :; do sleep 0.05; done
`

func TestCutConnectionKillsChildBeforeContenderIsGranted(t *testing.T) {
	needBinaryAndZK(t)
	p, dir := lockPath(t), t.TempDir()
	proxy := zkserver.NewProxy(t, server.Addr())
	a := startWrapper(t, []string{"DIR=" + dir, "NAME=a"}, runArgs(proxy.Addr(), p, "--", "sh", "-c", loyalChild)...)
	a.waitLog(`msg="child started"`, 15*time.Second)
	b := startWrapper(t, []string{"DIR=" + dir, "NAME=b"}, runArgs(server.Addr(), p, "--", "sh", "-c", loyalChild)...)
	b.waitLog(`msg="waiting for the lock"`, 15*time.Second)

	proxy.Blackhole()
	requireHolderDiedFirst(t, a, dir, time.Now(), "the cut")
	b.signal(syscall.SIGTERM)
	if code := b.wait(15 * time.Second); code != 0 {
		t.Fatalf("contender exited %d after SIGTERM, want its child's 0", code)
	}
}

// requireHolderDiedFirst checks I3 after fault: the holder a exits with the
// lock-lost code, and its child was confirmed dead before the contender's
// child (which records its start in dir/b) started.
func requireHolderDiedFirst(t *testing.T, a *wrapper, dir string, fault time.Time, what string) {
	t.Helper()
	if code := a.wait(30 * time.Second); code != exitcode.LockLost {
		t.Fatalf("holder exited %d, want %d (lock lost)", code, exitcode.LockLost)
	}
	dead := a.waitLog(`msg="child stopped"`, time.Second)
	bStart := waitFile(t, filepath.Join(dir, "b"), 30*time.Second)
	if !dead.Before(bStart) {
		t.Fatalf("holder's child confirmed dead %v after %s, contender's child started %v after it: overlap",
			dead.Sub(fault), what, bStart.Sub(fault))
	}
	t.Logf("%s -> holder's child dead %v; -> contender's child started %v; margin %v",
		what, dead.Sub(fault), bStart.Sub(fault), bStart.Sub(dead))
}

// waitFile waits until path has a "start" line and returns its instant.
func waitFile(t *testing.T, path string, d time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(path); err == nil && strings.HasPrefix(string(data), "start ") && strings.Contains(string(data), "\n") {
			return readInstants(t, path)[0].at
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: no start within %v", path, d)
	return time.Time{}
}

func TestNegotiatedTimeoutBelowRequestedIsUsed(t *testing.T) {
	needBinaryAndZK(t)
	capped := zkserver.Start(t, zkserver.Options{TickTime: 200 * time.Millisecond, MaxSessionTimeout: 4 * time.Second})
	marker := filepath.Join(t.TempDir(), "started")
	// Safe with the requested 10s, unsafe with the 4s the server grants.
	w := startWrapper(t, nil, "run", "--zk", capped.Addr(), "--lock", "/test/capped", "--session-timeout", "10s",
		"--zk-tick-time", "200ms", "--zk-sync-limit", "2", "--heartbeat", "200ms", "--stop-grace", "1500ms",
		"--", "touch", marker)
	if code := w.wait(30 * time.Second); code != exitcode.RefusedConfig {
		t.Fatalf("exit %d, want %d (refused)", code, exitcode.RefusedConfig)
	}
	if !strings.Contains(w.log(), "negotiated session timeout 4s (requested 10s)") {
		t.Fatalf("refusal does not name the negotiated timeout:\n%s", w.log())
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the child ran although the negotiated budget is unsafe")
	}
}

func TestSignalsReachTheChildAndTheLockIsReleased(t *testing.T) {
	needBinaryAndZK(t)
	p, dir := lockPath(t), t.TempDir()
	script := `trap 'echo HUP >> "$DIR/got"' HUP; trap 'echo TERM >> "$DIR/got"; exit 7' TERM; echo ready > "$DIR/ready"; while :; do sleep 0.05; done`
	w := startWrapper(t, []string{"DIR=" + dir}, runArgs(server.Addr(), p, "--", "sh", "-c", script)...)
	waitPath(t, filepath.Join(dir, "ready"))
	w.signal(syscall.SIGHUP)
	w.waitLog(`msg="forwarding signal" signal=hangup`, 5*time.Second)
	w.signal(syscall.SIGTERM)
	if code := w.wait(15 * time.Second); code != 7 {
		t.Fatalf("exit %d, want the child's 7", code)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "got"))
	if !strings.Contains(string(got), "HUP") || !strings.Contains(string(got), "TERM") {
		t.Fatalf("child got %q, want HUP and TERM", got)
	}
	w.waitLog(`msg="lock released"`, time.Second)
}

func TestSignalWhileWaitingStartsNothing(t *testing.T) {
	needBinaryAndZK(t)
	p, dir := lockPath(t), t.TempDir()
	holder := startWrapper(t, []string{"DIR=" + dir, "NAME=holder"}, runArgs(server.Addr(), p, "--", "sh", "-c", loyalChild)...)
	holder.waitLog(`msg="child started"`, 15*time.Second)
	marker := filepath.Join(dir, "waiter-started")
	waiter := startWrapper(t, nil, runArgs(server.Addr(), p, "--", "touch", marker)...)
	waiter.waitLog(`msg="waiting for the lock"`, 15*time.Second)
	waiter.signal(syscall.SIGTERM)
	if code := waiter.wait(10 * time.Second); code != 128+int(syscall.SIGTERM) {
		t.Fatalf("waiter exit %d, want %d", code, 128+int(syscall.SIGTERM))
	}
	holder.signal(syscall.SIGTERM)
	holder.wait(15 * time.Second)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the waiter started its child after being told to stop")
	}
}

func TestUnreachableZooKeeperIsWaitedFor(t *testing.T) {
	needBinaryAndZK(t)
	p, dir := lockPath(t), t.TempDir()
	proxy := zkserver.NewProxy(t, server.Addr())
	proxy.Cut()
	marker := filepath.Join(dir, "started")
	w := startWrapper(t, nil, runArgs(proxy.Addr(), p, "--", "touch", marker)...)
	w.waitLog(`msg="waiting for zookeeper"`, 15*time.Second)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("child started without ZooKeeper")
	}
	proxy.Restore()
	if code := w.wait(30 * time.Second); code != 0 {
		t.Fatalf("exit %d once ZooKeeper came back, want 0", code)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatal("child did not run once ZooKeeper came back")
	}
}

func TestChildExitCodes(t *testing.T) {
	needBinaryAndZK(t)
	dir := t.TempDir()
	notExec := filepath.Join(dir, "not-executable")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		command []string
		want    int
	}{
		{"zero", []string{"true"}, 0},
		{"three", []string{"sh", "-c", "exit 3"}, 3},
		{"255", []string{"sh", "-c", "exit 255"}, 255},
		{"killed by signal", []string{"sh", "-c", "kill -KILL $$"}, 128 + int(syscall.SIGKILL)},
		{"not found", []string{"/no/such/command"}, exitcode.NotFound},
		{"not executable", []string{notExec}, exitcode.CannotExecute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := lockPath(t)
			w := startWrapper(t, nil, runArgs(server.Addr(), p, append([]string{"--"}, tt.command...)...)...)
			if code := w.wait(20 * time.Second); code != tt.want {
				t.Fatalf("exit %d, want %d", code, tt.want)
			}
		})
	}
}

func TestStatusShowsHolderAndWaiters(t *testing.T) {
	needBinaryAndZK(t)
	p, dir := lockPath(t), t.TempDir()
	var ws []*wrapper
	for _, name := range []string{"first", "second", "third"} {
		w := startWrapper(t, []string{"DIR=" + dir, "NAME=" + name}, runArgs(server.Addr(), p, "--", "sh", "-c", loyalChild)...)
		if name == "first" {
			w.waitLog(`msg="child started"`, 15*time.Second)
		} else {
			w.waitLog(`msg="waiting for the lock"`, 15*time.Second)
		}
		ws = append(ws, w)
	}
	out, err := exec.Command(binary, "status", "--zk", server.Addr(), "--lock", p, "--json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var report statusReport
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if report.Holder == nil || report.Holder.Holder == nil || report.Holder.Holder.PID != ws[0].cmd.Process.Pid {
		t.Fatalf("holder %+v, want pid %d", report.Holder, ws[0].cmd.Process.Pid)
	}
	if len(report.Waiting) != 2 || report.Waiting[0].Holder.PID != ws[1].cmd.Process.Pid || report.Waiting[1].Holder.PID != ws[2].cmd.Process.Pid {
		t.Fatalf("waiting %+v, want pids %d then %d", report.Waiting, ws[1].cmd.Process.Pid, ws[2].cmd.Process.Pid)
	}
	if f := report.Fence; f == nil || f.Token != report.Holder.Token || f.Released {
		t.Fatalf("fence state %+v, want the holder's token %d, not released", f, report.Holder.Token)
	}
	text, err := exec.Command(binary, "status", "--zk", server.Addr(), "--lock", p).Output()
	if err != nil || !strings.Contains(string(text), "holder") || !strings.Contains(string(text), "waiting #2") ||
		!strings.Contains(string(text), "did NOT release cleanly") {
		t.Fatalf("status text: %v\n%s", err, text)
	}
	for i := len(ws) - 1; i >= 0; i-- {
		ws[i].signal(syscall.SIGTERM)
		ws[i].wait(15 * time.Second)
	}
	text, err = exec.Command(binary, "status", "--zk", server.Addr(), "--lock", p).Output()
	if err != nil || !strings.Contains(string(text), "released cleanly") || !strings.Contains(string(text), "free") {
		t.Fatalf("status text after every holder stopped: %v\n%s", err, text)
	}
}

func waitPath(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never appeared", path)
}
