package supervise

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// zkwrap is the test wrapper (testdata/zkwrap), built by TestMain with -race
// when the tests run with -race, so that a data race in the real PID-1 path
// fails its run (exit 66 and a report on stderr).
var zkwrap string

// scripts holds the child scripts shared by every init under test.
var scripts, _ = filepath.Abs("testdata/scripts")

const (
	tini     = "/usr/bin/tini"
	dumbInit = "/usr/bin/dumb-init"
)

func TestMain(m *testing.M) {
	if argv := os.Getenv(nsinitHelperEnv); argv != "" { // nsinit_test.go
		os.Exit(nsinitHelper(argv))
	}
	if os.Getenv(dispositionsHelperEnv) != "" { // dispositions_test.go
		os.Exit(dispositionsHelper())
	}
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "supervise-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	zkwrap = filepath.Join(dir, "zkwrap")
	if err := buildZkwrap(zkwrap); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// An in-process Start must not take the developer's terminal.
	if err := stdinFromDevNull(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// Start makes the test process a subreaper anyway; do it once for all
	// tests, so that orphans always land here, whatever the test order.
	if err := BecomeSubreaper(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	if code == 0 {
		if leaked := waitLeaks(5 * time.Second); len(leaked) > 0 {
			fmt.Fprintf(os.Stderr, "leaked goroutines:\n%s\n", strings.Join(leaked, "\n\n"))
			return 1
		}
	}
	return code
}

func buildZkwrap(out string) error {
	args := []string{"build", "-o", out}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./testdata/zkwrap")...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build zkwrap: %v\n%s", err, b)
	}
	return nil
}

func stdinFromDevNull() error {
	f, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Dup2(int(f.Fd()), 0)
}

// waitLeaks waits for the goroutines the tests started to end, like etcd's
// and net/http's leak checks, and returns the stacks of those that did not.
func waitLeaks(wait time.Duration) []string {
	deadline := time.Now().Add(wait)
	for {
		leaked := interestingGoroutines()
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func interestingGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var gs []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		_, stack, _ := strings.Cut(g, "\n")
		stack = strings.TrimSpace(stack)
		if stack == "" ||
			strings.Contains(stack, "testing.(*M).") ||
			strings.Contains(stack, "testing.Main(") ||
			strings.Contains(stack, "os/signal.signal_recv") ||
			strings.Contains(stack, "os/signal.loop") ||
			strings.Contains(stack, "interestingGoroutines") ||
			strings.Contains(stack, "runtime.ensureSigM") {
			continue
		}
		gs = append(gs, g)
	}
	sort.Strings(gs)
	return gs
}

// waitFor polls cond until it holds; it fails the test after a generous
// deadline (a condition, never a timing, is what the tests assert).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// alive reports whether pid is in the process table and not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && len(s) > i+2 && s[i+2] != 'Z'
}

// killAndReap SIGKILLs a leftover the test process inherited (it is a
// subreaper) and reaps it. When the leftover leads its own process group (a
// setsid daemon), the whole group goes and is reaped (reapGroup).
func killAndReap(pid int) {
	if pgidOf(pid) == pid {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		reapGroup(pid)
		return
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	var ws syscall.WaitStatus
	_, _ = syscall.Wait4(pid, &ws, 0, nil)
}

// reapGroup reaps every child of the test process in process group pgid,
// waiting for those still running: the leftovers of an init that was not a
// subreaper or has exited (a sleep of the child's loop, orphaned when the
// child died) are reparented to the test process. No one else would reap
// them: a later Child's reaper takes them for the test process's own (they
// were there at its Start). A process's children are reparented before it
// becomes a zombie, so once the group's last child is reaped none is left to
// come.
func reapGroup(pgid int) {
	var ws syscall.WaitStatus
	for {
		if _, err := syscall.Wait4(-pgid, &ws, 0, nil); err != nil && err != syscall.EINTR {
			return // ECHILD: none left
		}
	}
}

// exitStatus is the exit code of a finished command (-1 when it did not run).
func exitStatus(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return -1
}
