package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"golang.org/x/sys/unix"

	"github.com/zkfence/zkfence/exitcode"
	"github.com/zkfence/zkfence/internal/fstest"
	"github.com/zkfence/zkfence/internal/zkserver"
)

// The edges of the holding period (issue 15), end to end on a real
// ZooKeeper and real processes, in the brief's fast profile: T 8 s, tickTime
// 500 ms, syncLimit 2, heartbeat 500 ms, grace 1 s (D_kill - t_s = 4.15 s).
var edgeFlags = []string{
	"--session-timeout", "8s", "--zk-tick-time", "500ms", "--zk-sync-limit", "2",
	"--heartbeat", "500ms", "--stop-grace", "1s",
}

func edgeArgs(zkAddr, p string, extra ...string) []string {
	args := append([]string{"run", "--zk", zkAddr, "--lock", p}, edgeFlags...)
	return append(args, extra...)
}

// trappingChild writes "start" then a "tick" every 50 ms to $DIR/$NAME; on
// the stop signal it goes on ticking for 3 s (a database finishing a
// checkpoint) before it exits.
const trappingChild = `
echo "start $ZKFENCE_TOKEN $(date +%s%N)" >> "$DIR/$NAME"
trap 'end=$(( $(date +%s) + 3 )); while [ $(date +%s) -lt $end ]; do echo "tick $ZKFENCE_TOKEN $(date +%s%N)" >> "$DIR/$NAME"; sleep 0.05; done; exit 0' TERM INT
while :; do echo "tick $ZKFENCE_TOKEN $(date +%s%N)" >> "$DIR/$NAME"; sleep 0.05; done
`

// requireNoOverlap checks that the last write of a's child came before the
// first write of b's child, and returns the margin.
func requireNoOverlap(t *testing.T, dir string) time.Duration {
	t.Helper()
	bStart := waitFile(t, filepath.Join(dir, "b"), 30*time.Second)
	time.Sleep(200 * time.Millisecond) // anything of a's still running would write now
	aw := readInstants(t, filepath.Join(dir, "a"))
	last := aw[len(aw)-1].at
	if !last.Before(bStart) {
		t.Fatalf("the old child wrote %v after the new child started: two writers", last.Sub(bStart))
	}
	return bStart.Sub(last)
}

// holderNode returns the lock node of the lowest sequence under p.
func holderNode(t *testing.T, conn *zk.Conn, p string) string {
	t.Helper()
	children, _, err := conn.Children(p)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(children, func(i, j int) bool {
		return children[i][len(children[i])-10:] < children[j][len(children[j])-10:]
	})
	return p + "/" + children[0]
}

// Issue 15, item 1: when anybody deletes the holder's lock node, ZooKeeper
// has already given the lock to the next contender. The holder's child
// must get SIGKILL at once, not the stop signal and the grace: a child that
// traps SIGTERM for 3 s would otherwise write next to the new holder's.
func TestDeletedLockNodeKillsTheChildAtOnce(t *testing.T) {
	needBinaryAndZK(t)
	p, dir := lockPath(t), t.TempDir()
	a := startWrapper(t, []string{"DIR=" + dir, "NAME=a"}, edgeArgs(server.Addr(), p, "--", "sh", "-c", trappingChild)...)
	a.waitLog(`msg="child started"`, 15*time.Second)
	b := startWrapper(t, []string{"DIR=" + dir, "NAME=b"}, edgeArgs(server.Addr(), p, "--", "sh", "-c", trappingChild)...)
	b.waitLog(`msg="waiting for the lock"`, 15*time.Second)

	conn, _, err := zk.Connect([]string{server.Addr()}, 8*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Delete(holderNode(t, conn, p), -1); err != nil {
		t.Fatal(err)
	}
	if code := a.wait(15 * time.Second); code != exitcode.LockLost {
		t.Fatalf("holder exited %d, want %d", code, exitcode.LockLost)
	}
	if !strings.Contains(a.log(), `signal=SIGKILL`) {
		t.Fatalf("the holder's child was not SIGKILLed:\n%s", a.log())
	}
	t.Logf("lock node deleted: margin between the old child's last write and the new child's first: %v", requireNoOverlap(t, dir))
	b.signal(syscall.SIGTERM)
	b.wait(15 * time.Second)
}

// Issue 15, item 2: with its stderr blocked (a pipe nobody reads, a stalled
// log daemon) and ZooKeeper cut off, the holder must still stop its child
// before the contender's starts. The freeze guard is off, as in a container
// without CAP_SYS_ADMIN, so zkfence has to do it itself.
func TestBlockedStderrDoesNotDelayTheStop(t *testing.T) {
	needBinaryAndZK(t)
	p, dir := lockPath(t), t.TempDir()
	proxy := zkserver.NewProxy(t, server.Addr())
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fillPipe(t, w)
	args := edgeArgs(proxy.Addr(), p, "--freeze-guard", "off", "--log-level", "debug", "--", "sh", "-c", trappingChild)
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "DIR="+dir, "NAME=a")
	cmd.Stdout, cmd.Stderr = w, w // both full: every write blocks
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	done := make(chan int, 1)
	go func() { done <- fstest.ExitStatus(cmd.Wait()) }()
	t.Cleanup(func() { cmd.Process.Kill() })
	waitFile(t, filepath.Join(dir, "a"), 15*time.Second)
	b := startWrapper(t, []string{"DIR=" + dir, "NAME=b"}, edgeArgs(server.Addr(), p, "--", "sh", "-c", trappingChild)...)
	b.waitLog(`msg="waiting for the lock"`, 15*time.Second)

	proxy.Blackhole()
	cut := time.Now()
	select {
	case code := <-done:
		if code != exitcode.LockLost {
			t.Fatalf("holder exited %d, want %d", code, exitcode.LockLost)
		}
		t.Logf("holder exited %v after the cut", time.Since(cut))
	case <-time.After(30 * time.Second):
		t.Fatal("the holder did not stop its child with its stderr blocked")
	}
	t.Logf("stderr blocked, zookeeper cut: margin between the old child's last write and the new child's first: %v",
		requireNoOverlap(t, dir))
	b.signal(syscall.SIGTERM)
	b.wait(15 * time.Second)
}

// fillPipe writes into w until the pipe is full.
func fillPipe(t *testing.T, w *os.File) {
	t.Helper()
	fd := int(w.Fd())
	if err := unix.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := unix.Write(fd, chunk); err != nil {
			break
		}
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		t.Fatal(err)
	}
}

// stubbornFsck is an e2fsck that ignores SIGTERM and records a tick every
// 50 ms while it "repairs", for 30 s.
const stubbornFsck = `#!/bin/sh
trap '' TERM
echo "start 0 $(date +%s%N)" >> "$DIR/fsck"
i=0
while [ $i -lt 600 ]; do echo "tick 0 $(date +%s%N)" >> "$DIR/fsck"; sleep 0.05; i=$((i+1)); done
`

// Issue 15, item 3: every process zkfence starts under the lock is dead by
// the lease's kill deadline. A checker that ignores SIGTERM, still running
// when ZooKeeper is cut off, is killed with its group when the lease ends.
func TestFsckIgnoringSIGTERMDiesBeforeTheKillDeadline(t *testing.T) {
	needBinaryAndZK(t)
	p, dir := lockPath(t), t.TempDir()
	loop := fstest.LoopImage(t, 64)
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "e2fsck"), []byte(stubbornFsck), 0o755); err != nil {
		t.Fatal(err)
	}
	mnt := filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	proxy := zkserver.NewProxy(t, server.Addr())
	env := []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "DIR=" + dir}
	a := startWrapper(t, env, edgeArgs(proxy.Addr(), p, "--freeze-guard", "off",
		"--device", loop.Dev, "--mount", mnt, "--fstype", "ext4", "--claim-volume", "--", "true")...)
	waitFile(t, filepath.Join(dir, "fsck"), 15*time.Second) // the check is under way
	proxy.Blackhole()
	cut := time.Now()
	if code := a.wait(30 * time.Second); code != exitcode.LockLost {
		t.Fatalf("exited %d, want %d (lock lost during the check)", code, exitcode.LockLost)
	}
	time.Sleep(300 * time.Millisecond) // a surviving checker would tick now
	ticks := readInstants(t, filepath.Join(dir, "fsck"))
	survived := ticks[len(ticks)-1].at.Sub(cut)
	const killBy = 4150 * time.Millisecond // D_kill - t_s of edgeFlags; t_s is before the cut
	if survived >= killBy {
		t.Fatalf("the checker ran %v after the cut, past the lease's kill deadline (%v after the last renewal)", survived, killBy)
	}
	if fstest.IsMountPoint(mnt) {
		t.Fatal("the device was mounted after a check that did not finish")
	}
	t.Logf("an fsck that ignores SIGTERM last ran %v after the cut (kill deadline %v after the last renewal)", survived, killBy)
}

// Issue 15, items 4 and 5: a holder that did not let go cleanly (here
// SIGKILLed, its device left mounted) leaves the fence state beside the lock
// "not released". The next holder reads it before it touches the device and
// waits out the lock-delay before its fsck, which a fence record on the
// device itself could not ask of it (the device must be checked and mounted
// before its record can be read).
func TestNextHolderWaitsOutAnUncleanPredecessorBeforeTouchingTheDevice(t *testing.T) {
	needBinaryAndZK(t)
	p, dir := lockPath(t), t.TempDir()
	loop := fstest.LoopImage(t, 64)
	spy, err := fstest.NewFsckSpy(dir)
	if err != nil {
		t.Fatal(err)
	}
	mntA, mntB := filepath.Join(dir, "a-mnt"), filepath.Join(dir, "b-mnt")
	for _, m := range []string{mntA, mntB} {
		if err := os.Mkdir(m, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"PATH=" + spy.Dir + ":" + os.Getenv("PATH")}
	device := func(mnt string) []string {
		return []string{"--device", loop.Dev, "--mount", mnt, "--fstype", "ext4", "--claim-volume", "--lock-delay", "2s"}
	}
	child := `while :; do sleep 0.05; done`
	a := startWrapper(t, env, edgeArgs(server.Addr(), p, append(device(mntA), "--", "sh", "-c", child)...)...)
	a.waitLog(`msg="child started"`, 20*time.Second)
	b := startWrapper(t, env, edgeArgs(server.Addr(), p, append(device(mntB), "--", "sh", "-c", child)...)...)
	b.waitLog(`msg="waiting for the lock"`, 20*time.Second)

	a.cmd.Process.Kill() // no release: node and session expire, the fence state stays "not released"
	a.wait(10 * time.Second)
	// The old node is gone; on this one machine its mount must go too,
	// or the device counts as mounted elsewhere.
	if err := unix.Unmount(mntA, unix.MNT_DETACH); err != nil {
		t.Fatal(err)
	}
	acquired := b.waitLog(`msg="lock acquired"`, 30*time.Second)
	b.waitLog(`msg="previous holder did not release cleanly`, time.Second)
	b.waitLog(`msg="child started"`, 20*time.Second)
	calls := spy.Calls()
	if len(calls) != 2 {
		t.Fatalf("checker runs %q, want A's and B's", calls)
	}
	secs, _ := strconv.ParseFloat(strings.Fields(calls[1])[0], 64)
	checked := time.Unix(0, int64(secs*1e9))
	if waited := checked.Sub(acquired); waited < 2*time.Second {
		t.Fatalf("B checked the device %v after it acquired the lock, before the 2s lock-delay ended", waited)
	} else {
		t.Logf("unclean predecessor: B acquired, then waited %v before its fsck (lock-delay 2s)", waited)
	}
	b.signal(syscall.SIGTERM)
	if code := b.wait(20 * time.Second); code != exitcode.SignalBase+int(syscall.SIGTERM) {
		t.Fatalf("B exited %d, want its child's death by SIGTERM", code)
	}
}
