package supervise

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zkfence/zkfence/internal/fstest"
)

// TestHelperRule: a direct child of the wrapper is a helper when the wrapper
// holds a pidfd for it (os/exec's, not waited for yet), when it was there at
// Start (same pid and same start time), or when it is in the wrapper's
// process group; the main child never is (S3).
func TestHelperRule(t *testing.T) {
	h := &helpers{main: 50, group: 7, before: map[int]uint64{40: 1000}}
	held := map[int]bool{70: true, 50: true}
	cases := []struct {
		name     string
		p        procStat
		mainLive bool
		want     bool
	}{
		{"os/exec helper in the wrapper's group", procStat{pid: 60, pgid: 7, start: 5000}, true, true},
		{"os/exec helper in a group of its own", procStat{pid: 70, pgid: 70, start: 5000}, true, true},
		{"there at Start, own group", procStat{pid: 40, pgid: 40, start: 1000}, true, true},
		{"there at Start, the wrapper's group", procStat{pid: 40, pgid: 7, start: 1000}, true, true},
		{"pid of one there at Start, recycled", procStat{pid: 40, pgid: 40, start: 9000}, true, false},
		{"main child (even with a pidfd on it)", procStat{pid: 50, pgid: 50, start: 2000}, true, false},
		{"double-forked orphan: the child's group", procStat{pid: 61, pgid: 50, start: 3000}, true, false},
		{"double-forked orphan, main child reaped", procStat{pid: 61, pgid: 50, start: 3000}, false, false},
		{"setsid orphan: its own group", procStat{pid: 62, pgid: 62, start: 3000}, true, false},
		{"docker exec orphan: its own session", procStat{pid: 63, pgid: 63, start: 3000}, true, false},
	}
	for _, c := range cases {
		k := &classifier{helpers: h, mainLive: c.mainLive, held: held}
		if got := k.is(c.p); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	// Under unshare --pid the wrapper's group is outside its namespace and
	// reads as 0, for it and for its os/exec children alike.
	k := &classifier{helpers: &helpers{main: 2, group: 0}, mainLive: true, held: map[int]bool{}}
	if !k.is(procStat{pid: 3, pgid: 0}) || k.is(procStat{pid: 4, pgid: 2}) {
		t.Error("group 0 (outside the namespace) not told apart")
	}
}

// TestHelperRuleLive checks the rule on real zombies, as the reaper sees
// them (isPid): the group, the start time and the pidfd still read on a
// zombie.
func TestHelperRuleLive(t *testing.T) {
	// execCmd starts an os/exec command, which holds a pidfd until Wait.
	execCmd := func(setpgid bool) int {
		cmd := exec.Command("sh", "-c", "exit 0")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: setpgid}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Wait() })
		return cmd.Process.Pid
	}
	// forkExec starts a process that nothing holds a pidfd for.
	forkExec := func() int {
		pid, err := syscall.ForkExec("/bin/sh", []string{"sh", "-c", "exit 0"},
			&syscall.ProcAttr{Sys: &syscall.SysProcAttr{Setpgid: true}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { killAndReap(pid) })
		return pid
	}
	zombie := func(pid int) int {
		waitFor(t, "a zombie", func() bool { return procState(pid) == "Z" })
		return pid
	}
	before, mainChild := forkExec(), forkExec()
	h, err := snapshotHelpers()
	if err != nil {
		t.Fatal(err)
	}
	h.main = mainChild
	cases := []struct {
		name string
		pid  int
		want bool
	}{
		{"os/exec, the wrapper's group", zombie(execCmd(false)), true},
		{"os/exec, a group of its own", zombie(execCmd(true)), true},
		{"no pidfd, a group of its own, after Start", zombie(forkExec()), false},
		{"no pidfd, a group of its own, there at Start", zombie(before), true},
		{"main child", zombie(mainChild), false},
		{"gone", 1 << 30, true},
	}
	for _, c := range cases {
		k := &classifier{helpers: h, mainLive: true}
		if got := k.isPid(c.pid); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	h.before[before]++ // as if its pid had been recycled: another start time
	if (&classifier{helpers: h}).isPid(before) {
		t.Error("a recycled pid of a child at Start taken for a helper")
	}
}

func TestParseStat(t *testing.T) {
	tail := " 0 0 0 0 0 0 0 0 20 0 1 0 123456 0 0" // minflt..cstime, priority, nice, threads, itrealvalue, starttime
	cases := []struct {
		line string
		want procStat
		ok   bool
	}{
		{"42 (sleep) S 1 42 42 0 -1 4194560" + tail, procStat{pid: 42, ppid: 1, pgid: 42, state: 'S', start: 123456}, true},
		{"42 (a) (b) c) Z 7 3 3 0 -1 4194560" + tail, procStat{pid: 42, ppid: 7, pgid: 3, state: 'Z', start: 123456}, true},
		{"42 (x) S 1 0 0 0 -1 4194560" + tail, procStat{pid: 42, ppid: 1, pgid: 0, state: 'S', start: 123456}, true},
		{"42 (sleep) S 1 42", procStat{}, false},
		{"42 sleep S 1 42 42 0 -1 4194560" + tail, procStat{}, false},
		{"42 (sleep) S x 42 42 0 -1 4194560" + tail, procStat{}, false},
	}
	for _, c := range cases {
		got, err := parseStat(42, []byte(c.line))
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("%q: %+v, %v; want %+v (ok %v)", c.line, got, err, c.want, c.ok)
		}
	}
	self, err := readStat(os.Getpid())
	if err != nil || self.ppid != os.Getppid() || self.pgid != syscall.Getpgrp() || self.start == 0 {
		t.Errorf("own stat %+v, %v", self, err)
	}
}

// exitThree runs sh -c 'exit 3' n times as the wrapper's helper, every other
// one in a process group of its own (as the run pipeline runs its backup
// tools), and fails the test unless every Wait returns exit status 3: a
// reaper that took the helper's status makes Wait fail with ECHILD.
func exitThree(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		cmd := exec.Command("sh", "-c", "exit 3")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: i%2 == 1}
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
			t.Fatalf("run %d of %d: Wait returned %v, want exit status 3", i+1, n, err)
		}
	}
}

// TestHelpersKeepTheirStatus: while the child keeps leaving orphans that exit
// at once (zombies in its group and in sessions of their own), the wrapper
// runs a helper many times and gets its exit status every time, and every
// orphan is still reaped.
func TestHelpersKeepTheirStatus(t *testing.T) {
	dir := t.TempDir()
	c := startT(t, Spec{Argv: []string{"sh", scripts + "/churn.sh", dir}})
	waitFor(t, "the first orphans", func() bool { return exists(dir + "/ready") })
	exitThree(t, 200)
	if err := os.WriteFile(dir+"/done", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitDone(t, c)
	assertChurnReaped(t, dir)
}

// assertChurnReaped checks churn.sh's result: orphans were made, and none
// was left unreaped.
func assertChurnReaped(t *testing.T, dir string) {
	t.Helper()
	var n, left int
	res := readFile(t, dir+"/result")
	if _, err := fmt.Sscanf(res, "orphans=%d left=%d", &n, &left); err != nil {
		t.Fatalf("result %q: %v", res, err)
	}
	if n < 20 || left != 0 {
		t.Errorf("result %q, want 20 orphans or more, none left", res)
	}
	t.Logf("%s", res)
}

// helperScript is a helper that waits for dir/release, then exits 4.
func helperScript(dir string) string {
	return fmt.Sprintf(`while [ ! -e '%s/release' ]; do sleep 0.05; done; exit 4`, dir)
}

// TestHelpersSurviveStop: a helper the wrapper had before Start (a bare fork
// and exec in a process group of its own: only Start's snapshot tells it from
// the tree) and two it started with os/exec during the child's life (one in
// the wrapper's group, one in a group of its own, as the run pipeline runs
// its backup tools) all survive Stop, and get their own status; the child's
// setsid grandchild is still stopped.
func TestHelpersSurviveStop(t *testing.T) {
	dir := t.TempDir()
	before, err := syscall.ForkExec("/bin/sh", []string{"sh", "-c", helperScript(dir)},
		&syscall.ProcAttr{Sys: &syscall.SysProcAttr{Setpgid: true}})
	if err != nil {
		t.Fatal(err)
	}
	beforeReaped := false
	defer func() {
		if !beforeReaped {
			killAndReap(before)
		}
	}()
	c := startT(t, Spec{Argv: []string{"sh", scripts + "/setsid.sh", dir}})
	during := map[string]*exec.Cmd{}
	for name, setpgid := range map[string]bool{"during, the wrapper's group": false, "during, own group": true} {
		cmd := exec.Command("sh", "-c", helperScript(dir))
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: setpgid}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		during[name] = cmd
	}
	waitFor(t, "the grandchild", func() bool { return exists(dir + "/ready") })
	gc, _ := strconv.Atoi(readFile(t, dir+"/gc.pid"))

	if err := c.Stop(context.Background(), StopPolicy{Signal: syscall.SIGTERM, Grace: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if !exists(dir+"/gc.term") || exists("/proc/"+strconv.Itoa(gc)) {
		t.Error("the setsid grandchild was not stopped gracefully")
	}
	if !alive(before) {
		t.Error("the helper from before Start did not survive Stop")
	}
	for name, cmd := range during {
		if !alive(cmd.Process.Pid) {
			t.Errorf("helper %q did not survive Stop", name)
		}
	}
	if err := os.WriteFile(dir+"/release", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var ws syscall.WaitStatus
	_, err = syscall.Wait4(before, &ws, 0, nil)
	beforeReaped = err == nil
	if err != nil || !ws.Exited() || ws.ExitStatus() != 4 {
		t.Errorf("helper from before Start: status %#x, %v; want exit 4", uint32(ws), err)
	}
	for name, cmd := range during {
		if got := fstest.ExitStatus(cmd.Wait()); got != 4 {
			t.Errorf("helper %q: exit %d, want 4", name, got)
		}
	}
	assertTreeGone(t)
}

// TestZkwrapHelpers runs the same two checks through zkwrap, as PID 1 of a
// new PID namespace and as a plain process.
func TestZkwrapHelpers(t *testing.T) {
	for _, pid1 := range []bool{true, false} {
		t.Run(fmt.Sprintf("status/pid1=%v", pid1), func(t *testing.T) {
			dir := t.TempDir()
			r := startInit(t, kindZkwrap, pid1, []string{"-loop", "200"}, "sh", scripts+"/churn.sh", dir)
			waitFor(t, "the loop", func() bool { return strings.Contains(r.out.String(), "zkwrap: loop: ") })
			if err := os.WriteFile(dir+"/done", nil, 0o644); err != nil {
				t.Fatal(err)
			}
			code := r.wait()
			out := r.out.String()
			if code != 0 || !strings.Contains(out, "zkwrap: loop: 200/200 exit 3\n") {
				t.Errorf("exit %d, output:\n%s", code, out)
			}
			assertChurnReaped(t, dir)
		})
		t.Run(fmt.Sprintf("survive/pid1=%v", pid1), func(t *testing.T) {
			dir := t.TempDir()
			flags := []string{"-v", "-before", helperScript(dir), "-during", helperScript(dir)}
			r := startInit(t, kindZkwrap, pid1, flags, "sh", scripts+"/setsid.sh", dir)
			waitFor(t, "the grandchild", func() bool { return exists(dir + "/ready") })
			r.signal(t, syscall.SIGTERM)
			waitFor(t, "the stop", func() bool { return strings.Contains(r.out.String(), "zkwrap: stopped\n") })
			if err := os.WriteFile(dir+"/release", nil, 0o644); err != nil {
				t.Fatal(err)
			}
			code := r.wait()
			out := r.out.String()
			for _, want := range []string{"zkwrap: before: exit status 4\n", "zkwrap: during: exit status 4\n"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q", want)
				}
			}
			if code != 143 || !exists(dir+"/gc.term") {
				t.Errorf("exit %d (want 143), grandchild stopped gracefully: %v", code, exists(dir+"/gc.term"))
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

// TestProcessSubstitutionSurvives: a shell that runs
// "exec zkwrap ... 2> >(tee log | sed ...)" forks the process substitution
// before it execs the wrapper, so the substitution's shell (and its tee and
// sed) are the wrapper's own from the start. The tree stop after the child's
// exit must leave them alone: the wrapper's last line reaches both logs.
func TestProcessSubstitutionSurvives(t *testing.T) {
	dir := t.TempDir()
	script := `exec "$0" -v -- sh "$1/setsid.sh" "$2" ` +
		`2> >(echo $BASHPID > "$2/subst.pid"; tee "$2/log" | sed -n p > "$2/log.sed")`
	r := startArgv(t, false, "bash", "-c", script, zkwrap, scripts, dir)
	waitFor(t, "the grandchild", func() bool { return exists(dir + "/ready") })
	r.signal(t, syscall.SIGTERM)
	if code := r.wait(); code != 143 {
		t.Errorf("exit %d, want 143", code)
	}
	subst, err := strconv.Atoi(readFile(t, dir+"/subst.pid"))
	if err != nil {
		t.Fatal(err)
	}
	// The substitution ends at the end of its input, orphaned: the test
	// process, a subreaper, reaps it.
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(subst, &ws, 0, nil); err != nil || !ws.Exited() || ws.ExitStatus() != 0 {
		t.Errorf("process substitution: status %#x, %v; want exit 0", uint32(ws), err)
	}
	for _, log := range []string{"log", "log.sed"} {
		if got := readFile(t, dir+"/"+log); !strings.HasSuffix(got, "zkwrap: exit 143") {
			t.Errorf("%s %q lacks the wrapper's last line", log, got)
		}
	}
	if !exists(dir + "/gc.term") {
		t.Error("the setsid grandchild was not stopped gracefully")
	}
}
