package supervise

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStopSetsidGrandchild: Stop reaches a grandchild that left the group and
// the session, gracefully (it records SIGTERM), and confirms it gone.
func TestStopSetsidGrandchild(t *testing.T) {
	dir := t.TempDir()
	c := startT(t, Spec{Argv: []string{"sh", scripts + "/setsid.sh", dir}})
	waitFor(t, "the grandchild", func() bool { return exists(dir + "/ready") })
	gc, _ := strconv.Atoi(readFile(t, dir+"/gc.pid"))
	if pgidOf(gc) == c.Pid() {
		t.Fatal("the grandchild is still in the child's group")
	}
	if err := c.Stop(context.Background(), StopPolicy{Signal: syscall.SIGTERM, Grace: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if !exists(dir + "/gc.term") {
		t.Error("the grandchild did not get SIGTERM")
	}
	if exists("/proc/" + strconv.Itoa(gc)) {
		t.Error("the grandchild is still in the process table")
	}
	if got := c.ExitCode(); got != 128+int(syscall.SIGTERM) {
		t.Errorf("ExitCode = %d, want 143", got)
	}
	if err := c.Stop(context.Background(), StopPolicy{}); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// ignoreTree is a child that ignores SIGTERM and leaves a setsid grandchild
// that ignores it too; only SIGKILL ends them.
const ignoreTree = `trap "" TERM; ( exec setsid sh -c 'trap "" TERM; while :; do sleep 0.05; done' & ); touch "$0/ready"; while :; do sleep 0.05; done`

// TestStopGraceCutByDeadline: with a grace of an hour, SIGKILL is still sent
// by ctx's deadline minus KillWait, and everything is confirmed gone (S5).
func TestStopGraceCutByDeadline(t *testing.T) {
	dir := t.TempDir()
	c := startT(t, Spec{Argv: []string{"sh", "-c", ignoreTree, dir}})
	waitFor(t, "the tree", func() bool { return exists(dir + "/ready") })
	ctx, cancel := context.WithTimeout(context.Background(), KillWait+200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := c.Stop(ctx, StopPolicy{Signal: syscall.SIGTERM, Grace: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Minute {
		t.Errorf("Stop took %v: the hour of grace was not cut", took)
	}
	if got := c.ExitCode(); got != 128+int(syscall.SIGKILL) {
		t.Errorf("ExitCode = %d, want 137 (SIGKILL)", got)
	}
	assertTreeGone(t)
}

// TestStopCancelledContext: a cancelled ctx ends the grace at once, and the
// SIGKILL and the confirmation still happen (cleanup runs).
func TestStopCancelledContext(t *testing.T) {
	dir := t.TempDir()
	c := startT(t, Spec{Argv: []string{"sh", "-c", ignoreTree, dir}})
	waitFor(t, "the tree", func() bool { return exists(dir + "/ready") })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Stop(ctx, StopPolicy{Signal: syscall.SIGTERM, Grace: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if got := c.ExitCode(); got != 137 {
		t.Errorf("ExitCode = %d, want 137", got)
	}
	assertTreeGone(t)
}

// TestStopStoppedChild: a child stopped by SIGSTOP still gets to act on the
// stop signal (Stop sends SIGCONT after it), so it exits of SIGTERM, not
// SIGKILL.
func TestStopStoppedChild(t *testing.T) {
	c := startT(t, Spec{Argv: []string{"sleep", "600"}})
	if err := syscall.Kill(c.Pid(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the child stopped", func() bool { return procState(c.Pid()) == "T" })
	if err := c.Stop(context.Background(), StopPolicy{Signal: syscall.SIGTERM, Grace: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if got := c.ExitCode(); got != 143 {
		t.Errorf("ExitCode = %d, want 143 (SIGTERM)", got)
	}
}

// TestStopAfterDone: the child exits by itself and leaves a daemon behind
// (double fork + setsid); Stop after Done stops the daemon. The group is no
// longer signalled (S2): the daemon is reached through the process table.
func TestStopAfterDone(t *testing.T) {
	dir := t.TempDir()
	c := startT(t, Spec{Argv: []string{"sh", "-c",
		`( exec setsid sh -c 'trap "touch \"$0/term\"; exit 0" TERM; touch "$0/ready"; while :; do sleep 0.05; done' "$0" & ); exit 5`, dir}})
	waitDone(t, c)
	waitFor(t, "the daemon", func() bool { return exists(dir + "/ready") })
	if got := c.ExitCode(); got != 5 {
		t.Errorf("ExitCode = %d, want 5", got)
	}
	if err := c.Stop(context.Background(), StopPolicy{Grace: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if !exists(dir + "/term") {
		t.Error("the daemon did not get SIGTERM")
	}
	assertTreeGone(t)
}

// TestScanTree: the scan finds the child and its children with their parents.
func TestScanTree(t *testing.T) {
	dir := t.TempDir()
	c := startT(t, Spec{Argv: []string{"sh", "-c", `sleep 600 & sleep 600 & touch "$0/ready"; wait`, dir}})
	waitFor(t, "the tree", func() bool { return exists(dir + "/ready") })
	var tree []proc
	waitFor(t, "three processes", func() bool {
		tree, _ = c.scan()
		return len(tree) == 3
	})
	if tree[0].pid != c.Pid() || tree[0].ppid != os.Getpid() || tree[1].ppid != c.Pid() || tree[2].ppid != c.Pid() {
		t.Errorf("tree %+v", tree)
	}
}

func TestKillTime(t *testing.T) {
	now := time.Now()
	bg := context.Background()
	ctx, cancel := context.WithDeadline(bg, now.Add(10*time.Second))
	defer cancel()
	cases := []struct {
		ctx   context.Context
		grace time.Duration
		want  time.Time
	}{
		{bg, 5 * time.Second, now.Add(5 * time.Second)},
		{ctx, 5 * time.Second, now.Add(5 * time.Second)},
		{ctx, time.Hour, now.Add(10*time.Second - KillWait)},
		{ctx, 0, now},
	}
	for i, c := range cases {
		if got := killTime(c.ctx, now, c.grace); !got.Equal(c.want) {
			t.Errorf("case %d: %v, want %v", i, got.Sub(now), c.want.Sub(now))
		}
	}
}

func TestSurvivorsError(t *testing.T) {
	self, err := readStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// The test's parent, under another start time, stands for a pid that was
	// recycled since the scan: it is gone.
	e := survivors([]proc{{pid: self.pid, ppid: self.ppid, start: self.start}, {pid: self.ppid, start: 1}}, false, nil)
	if !errors.Is(e, ErrSurvivors) {
		t.Error("not ErrSurvivors")
	}
	for i, pid := range e.Pids {
		if gone := e.States[i] == "gone"; gone != (pid == self.ppid) {
			t.Errorf("pid %d: state %q", pid, e.States[i])
		}
	}
	msg := e.Error()
	if !strings.Contains(msg, "main child not reaped") || !strings.Contains(msg, "pid "+strconv.Itoa(os.Getpid())+" (") {
		t.Errorf("message %q", msg)
	}
}

// assertTreeGone checks that the test process has no descendant left.
func assertTreeGone(t *testing.T) {
	t.Helper()
	if tree, err := scanTree(os.Getpid(), nil); err != nil || len(tree) > 0 {
		t.Errorf("left behind: %+v (%v)", tree, err)
		for _, p := range tree {
			cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/cmdline")
			st, _ := readStat(p.pid)
			t.Logf("pid %d: state %c, group %d, command %q", p.pid, st.state, st.pgid, cmd)
		}
	}
}

func procState(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "gone"
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return s[i+2 : i+3]
}
