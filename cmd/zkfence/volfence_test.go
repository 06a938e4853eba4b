package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zkfence/zkfence/exitcode"
	"github.com/zkfence/zkfence/fence"
	"github.com/zkfence/zkfence/lock"
)

// Issue 17: the holder's node dies without releasing (SIGKILL), then its
// ZooKeeper fence state is deleted (an operator, or ZooKeeper's data lost):
// ZooKeeper names no previous holder. The shared volume's fence record still
// does, with its fence id. The next holder reads it before writing anything,
// fences that node through the agent, and, the fence confirmed, starts its
// child without waiting out the lock-delay. Before the volume was read here,
// it went on as "first" and only the lock-delay protected the data: enough
// for a dead holder, not for a frozen one whose heartbeat stopped with it.
// The record's fence id is fenced because --fence-peers lists it: a record
// alone does not choose whom the agent fences.
func TestPreviousHolderNamedOnlyByTheVolumeIsFenced(t *testing.T) {
	needBinaryAndZK(t)
	const lockDelay = time.Minute // waiting it out would fail the test
	p, vol, dir := lockPath(t), tmpfsVolume(t), t.TempDir()
	agent := writeFakeAgent(t, dir)
	env := func(name string) []string { return []string{"DIR=" + dir, "NAME=" + name, "FENCE_DIR=" + dir} }
	node := func(name string) []string {
		return runArgs(server.Addr(), p, "--freeze-guard", "off", "--mount", vol, "--claim-volume",
			"--lock-delay", lockDelay.String(), "--fence-agent", agent, "--fence-id", "node-"+name,
			"--fence-timeout", "5s", "--fence-peers", "node-a,node-b", "--", "sh", "-c", trappingChild)
	}
	a := startWrapper(t, env("a"), node("a")...)
	a.waitLog(`msg="child started"`, 20*time.Second)
	// A's child must have written before A dies: killed first, it writes
	// nothing, and requireNoOverlap has nothing of A's to compare.
	waitFile(t, filepath.Join(dir, "a"), 10*time.Second)
	if err := os.WriteFile(filepath.Join(dir, "node-a.pid"), []byte(strconv.Itoa(a.cmd.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	if r, err := fence.Read(vol); err != nil || !strings.Contains(r.Holder, `"fence_id":"node-a"`) {
		t.Fatalf("A's volume record %+v (%v) does not name its fence id", r, err)
	}

	a.cmd.Process.Kill() // the node dies: no release, its heartbeat stops
	if code := a.wait(10 * time.Second); code != exitcode.SignalBase+int(syscall.SIGKILL) {
		t.Fatalf("A exited %d, want 137", code)
	}
	killed := time.Now()
	if err := connect(t).Delete(lock.FenceStatePath(p), -1); err != nil {
		t.Fatalf("delete %s: %v", lock.FenceStatePath(p), err)
	}

	b := startWrapper(t, env("b"), node("b")...)
	bStart := waitFile(t, filepath.Join(dir, "b"), 40*time.Second)
	if waited := bStart.Sub(killed); waited > lockDelay/2 {
		t.Fatalf("B's child started %v after A died: it waited out the lock-delay instead of fencing A", waited)
	} else {
		t.Logf("A killed, fence state deleted -> B's child started %v later (session timeout 6s, lock-delay %v)",
			waited.Round(time.Millisecond), lockDelay)
	}
	for _, want := range []string{`msg="no previous holder recorded in zookeeper"`,
		"the volume's fence record names one that did not release", `msg="previous holder fenced`} {
		if !strings.Contains(b.log(), want) {
			t.Fatalf("B's log lacks %q:\n%s", want, b.log())
		}
	}
	offAt := fenceActionAt(t, dir, "off node-a")
	if !offAt.Before(bStart) {
		t.Fatalf("A's node fenced at %v, after B's child started at %v", offAt, bStart)
	}
	data, _, err := connect(t).Get(lock.FenceStatePath(p))
	if err != nil {
		t.Fatal(err)
	}
	var st lock.FenceState
	if err := json.Unmarshal(data, &st); err != nil || st.Takeover != "fenced node-a (volume record)" || st.FenceID != "node-b" {
		t.Fatalf("B's fence state %s (%v), want takeover %q and fence id node-b", data, err, "fenced node-a (volume record)")
	}
	t.Logf("margin between A's child's last write and B's child's first: %v", requireNoOverlap(t, dir))
	b.signal(syscall.SIGTERM)
	b.wait(15 * time.Second)
}

// As above, but B has no --fence-peers: the fence id the volume's record
// names (which anyone who can write the record as zkfence's user chooses)
// is not fenced, and with --fence-required B refuses (exit 96), naming the
// id and --fence-peers, before it touches the volume.
func TestVolumeHolderNotInFencePeersIsNotFenced(t *testing.T) {
	needBinaryAndZK(t)
	p, vol, dir := lockPath(t), tmpfsVolume(t), t.TempDir()
	agent := writeFakeAgent(t, dir)
	env := func(name string) []string { return []string{"DIR=" + dir, "NAME=" + name, "FENCE_DIR=" + dir} }
	node := func(name string, extra ...string) []string {
		args := append([]string{"--freeze-guard", "off", "--mount", vol, "--claim-volume", "--lock-delay", "1m",
			"--fence-agent", agent, "--fence-id", "node-" + name, "--fence-timeout", "5s"}, extra...)
		return runArgs(server.Addr(), p, append(args, "--", "sh", "-c", trappingChild)...)
	}
	a := startWrapper(t, env("a"), node("a")...)
	a.waitLog(`msg="child started"`, 20*time.Second)
	a.cmd.Process.Kill()
	a.wait(10 * time.Second)
	if err := connect(t).Delete(lock.FenceStatePath(p), -1); err != nil {
		t.Fatalf("delete %s: %v", lock.FenceStatePath(p), err)
	}
	rec, err := fence.Read(vol)
	if err != nil {
		t.Fatal(err)
	}

	b := startWrapper(t, env("b"), node("b", "--fence-required")...)
	if code := b.wait(40 * time.Second); code != exitcode.FencingFailed {
		t.Fatalf("B exited %d, want %d (fencing failed):\n%s", code, exitcode.FencingFailed, b.log())
	}
	for _, want := range []string{"node-a", "list it in --fence-peers"} {
		if !strings.Contains(b.log(), want) {
			t.Fatalf("B's log lacks %q:\n%s", want, b.log())
		}
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "fence.log")); strings.Contains(string(data), "off ") {
		t.Fatalf("the agent was asked to fence:\n%s", data)
	}
	if _, err := os.Stat(filepath.Join(dir, "b")); err == nil {
		t.Fatal("B's child started")
	}
	if r, err := fence.Read(vol); err != nil || r.Token != rec.Token || r.Holder != rec.Holder {
		t.Fatalf("the volume's record changed: %+v (%v), was %+v", r, err, rec)
	}
}

// fenceActionAt is when the fake agent (writeFakeAgent) logged "action plug".
func fenceActionAt(t *testing.T, dir, action string) time.Time {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "fence.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if ns, rest, ok := strings.Cut(line, " "); ok && rest == action {
			n, err := strconv.ParseInt(ns, 10, 64)
			if err != nil {
				t.Fatalf("fence.log line %q: %v", line, err)
			}
			return time.Unix(0, n)
		}
	}
	t.Fatalf("the agent was never asked %q:\n%s", action, data)
	return time.Time{}
}
