package supervise

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zkfence/zkfence/internal/testmain"
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
	testmain.Setup()
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
	return testmain.Check(m.Run())
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

// killTree SIGKILLs pid and every process descended from it, waits for pid
// with wait (its os/exec Wait), and reaps the others as they land on the test
// process (a subreaper), within a minute. Each process found is SIGSTOPped
// first, so that none forks, or leaves the tree when its parent dies, while
// the tree is walked; the walk ends when two scans in a row find nothing new
// (a fork already under way when the stop came may still add a process).
func killTree(pid int, wait func()) {
	_ = syscall.Kill(pid, syscall.SIGSTOP)
	found := map[int]bool{}
	for calm := 0; calm < 2; {
		tree, err := scanTree(pid, nil)
		if err != nil {
			break
		}
		calm++
		for _, p := range tree {
			if !found[p.pid] {
				found[p.pid], calm = true, 0
				_ = syscall.Kill(p.pid, syscall.SIGSTOP)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	for p := range found {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	wait()
	deadline := time.Now().Add(time.Minute)
	for len(found) > 0 && time.Now().Before(deadline) {
		for p := range found {
			var ws syscall.WaitStatus
			if got, _ := syscall.Wait4(p, &ws, syscall.WNOHANG, nil); got == p || !exists(fmt.Sprintf("/proc/%d", p)) {
				delete(found, p) // reaped here, or by a parent of its own
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
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
