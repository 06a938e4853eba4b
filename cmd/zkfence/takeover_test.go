package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zkfence/zkfence/internal/zkserver"
)

// fakeFenceAgent speaks the ClusterLabs stdin protocol for "nodes" that are
// processes on this machine: plug NAME is the process whose pid is in
// $FENCE_DIR/NAME.pid; off SIGKILLs it, status exits 2 once it is gone.
// Every action is logged to $FENCE_DIR/fence.log.
const fakeFenceAgent = `#!/bin/sh
input=$(cat)
action=$(printf '%s\n' "$input" | sed -n 's/^action=//p' | tail -n 1)
plug=$(printf '%s\n' "$input" | sed -n 's/^plug=//p' | tail -n 1)
echo "$(date +%s%N) $action $plug" >> "$FENCE_DIR/fence.log"
pid=$(cat "$FENCE_DIR/$plug.pid" 2>/dev/null)
case "$action" in
metadata) echo '<?xml version="1.0"?><resource-agent name="fence_fake"><parameters/><actions><action name="on"/><action name="off"/><action name="status"/><action name="monitor"/><action name="metadata"/></actions></resource-agent>' ;;
off) [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; exit 0 ;;
status) if [ -n "$pid" ] && [ -d /proc/$pid ] && ! grep -q '^State:.*Z' /proc/$pid/status; then exit 0; else exit 2; fi ;;
*) exit 0 ;;
esac
`

func writeFakeAgent(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "fence_fake")
	if err := os.WriteFile(p, []byte(fakeFenceAgent), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// Issue 21: a frozen holder is fenced and replaced by its first waiter in
// about a second, not a session timeout; a holder that answers (even 503)
// is never taken over; and the old child never writes after the new one
// started.
func TestFastTakeoverFencesAFrozenHolder(t *testing.T) {
	needBinaryAndZK(t)
	p, dir := lockPath(t), t.TempDir()
	agent := writeFakeAgent(t, dir)
	portA, _ := zkserver.FreePort()
	portB, _ := zkserver.FreePort()
	node := func(name string, port int, extra ...string) []string {
		args := []string{"--freeze-guard", "off", "--http", fmt.Sprintf("127.0.0.1:%d", port),
			"--fence-agent", agent, "--fence-id", "node-" + name, "--fence-timeout", "5s"}
		return edgeArgs(server.Addr(), p, append(append(args, extra...), "--", "sh", "-c", trappingChild)...)
	}
	env := func(name string) []string { return []string{"DIR=" + dir, "NAME=" + name, "FENCE_DIR=" + dir} }
	a := startWrapper(t, env("a"), node("a", portA)...)
	a.waitLog(`msg="child started"`, 15*time.Second)
	if err := os.WriteFile(filepath.Join(dir, "node-a.pid"), []byte(strconv.Itoa(a.cmd.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	b := startWrapper(t, env("b"), node("b", portB, "--fast-takeover", "--takeover-probe", "200ms", "--takeover-after", "3")...)
	b.waitLog(`msg="waiting for the lock"`, 15*time.Second)

	time.Sleep(2 * time.Second) // ten probes of a holder that answers
	if log, _ := os.ReadFile(filepath.Join(dir, "fence.log")); strings.Contains(string(log), " off ") {
		t.Fatalf("a holder that answers was fenced:\n%s", log)
	}

	// Freeze node a: the wrapper and its child's process group.
	childPid := mustPid(t, a.log())
	freeze := time.Now()
	syscall.Kill(-childPid, syscall.SIGSTOP)
	syscall.Kill(a.cmd.Process.Pid, syscall.SIGSTOP)
	t.Cleanup(func() { syscall.Kill(-childPid, syscall.SIGKILL) })

	bStart := waitFile(t, filepath.Join(dir, "b"), 30*time.Second)
	took := bStart.Sub(freeze)
	if took > 6*time.Second {
		t.Fatalf("fast takeover took %v from the freeze to the new child's start", took)
	}
	t.Logf("frozen holder: freeze -> new child started %v (the session timeout is 8s)", took)
	t.Logf("margin between the old child's last write and the new child's first: %v", requireNoOverlap(t, dir))
	if !strings.Contains(b.log(), "fast takeover: the holder did not answer, was fenced and confirmed off") ||
		!strings.Contains(b.log(), "previous holder was fenced, and confirmed off, by its first waiter") {
		t.Fatalf("b's log lacks the takeover:\n%s", b.log())
	}
	b.signal(syscall.SIGTERM)
	b.wait(15 * time.Second)
}

func mustPid(t *testing.T, log string) int {
	t.Helper()
	m := regexp.MustCompile(`msg="child started" pid=(\d+)`).FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("no child pid in:\n%s", log)
	}
	pid, _ := strconv.Atoi(m[1])
	return pid
}

// --fast-takeover without a fence agent is refused before anything starts.
func TestFastTakeoverNeedsAFenceAgent(t *testing.T) {
	for _, args := range [][]string{
		{"--fast-takeover", "--http", "127.0.0.1:0"},
		{"--fast-takeover", "--fence-agent", "/bin/true"},
		{"--takeover-after", "3"},
	} {
		code := runApp(append([]string{"zkfence", "run", "--zk", "127.0.0.1:1", "--lock", "/x"}, append(args, "--", "true")...))
		if code != 78 {
			t.Errorf("%v: exit %d, want 78", args, code)
		}
	}
}

// Issue 21: only the path between the two nodes is cut; each still reaches
// ZooKeeper (and its storage). The waiter cannot tell a partition from a
// death, so it fences the holder, which the agent confirms off, and only
// then takes over: the holder is replaced, never run beside.
func TestFastTakeoverAcrossAPartitionFencesFirst(t *testing.T) {
	needBinaryAndZK(t)
	p, dir := lockPath(t), t.TempDir()
	agent := writeFakeAgent(t, dir)
	portA, _ := zkserver.FreePort()
	portB, _ := zkserver.FreePort()
	// b reaches a's health endpoint only through this link.
	link := zkserver.NewProxy(t, fmt.Sprintf("127.0.0.1:%d", portA))
	node := func(name string, port int, extra ...string) []string {
		args := []string{"--http", fmt.Sprintf("127.0.0.1:%d", port),
			"--fence-agent", agent, "--fence-id", "node-" + name, "--fence-timeout", "5s"}
		return edgeArgs(server.Addr(), p, append(append(args, extra...), "--", "sh", "-c", trappingChild)...)
	}
	env := func(name string) []string { return []string{"DIR=" + dir, "NAME=" + name, "FENCE_DIR=" + dir} }
	a := startWrapper(t, env("a"), node("a", portA, "--advertise-http", link.Addr())...)
	a.waitLog(`msg="child started"`, 15*time.Second)
	if err := os.WriteFile(filepath.Join(dir, "node-a.pid"), []byte(strconv.Itoa(a.cmd.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	b := startWrapper(t, env("b"), node("b", portB, "--fast-takeover", "--takeover-probe", "200ms", "--takeover-after", "3")...)
	b.waitLog(`msg="waiting for the lock"`, 15*time.Second)
	time.Sleep(time.Second)

	link.Blackhole()
	cut := time.Now()
	bStart := waitFile(t, filepath.Join(dir, "b"), 30*time.Second)
	a.wait(10 * time.Second) // SIGKILLed by the agent
	t.Logf("partition between the nodes: cut -> new child started %v; margin %v", bStart.Sub(cut), requireNoOverlap(t, dir))
	log, _ := os.ReadFile(filepath.Join(dir, "fence.log"))
	if !strings.Contains(string(log), " off node-a") {
		t.Fatalf("the holder was not fenced before the takeover:\n%s", log)
	}
	b.signal(syscall.SIGTERM)
	b.wait(15 * time.Second)
}

// Review of issue 17: --attach-cmd without a guarded volume (--mount). With
// no volume there is no lock-delay (no fence record), so a previous holder
// that did not release and could not be fenced (agent failed, no fence id,
// no agent) is not waited out at all ("FENCING FAILED, no storage",
// takeover.go:119; "not released, no storage", takeover.go:85): the attach
// command gives this node the network block device while the previous,
// possibly thawing, holder still has it. Refused before anything starts.
func TestAttachWithoutAGuardedVolumeIsRefused(t *testing.T) {
	for _, args := range [][]string{
		{"--attach-cmd", "true"},
		{"--attach-cmd", "true", "--fence-agent", "/bin/true"},
	} {
		done := make(chan int, 1)
		go func() {
			done <- runApp(append([]string{"zkfence", "run", "--zk", "127.0.0.1:1", "--lock", "/x"}, append(args, "--", "true")...))
		}()
		select {
		case code := <-done:
			if code != 78 {
				t.Errorf("%v: exit %d, want 78", args, code)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%v: not refused; still running after 10s", args)
		}
	}
}
