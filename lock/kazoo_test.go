package lock

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/zkfence/zkfence/internal/testlog"
)

// Kazoo's Lock (Python) on the same lock path as zkfence, against the test
// ZooKeeper. Kazoo 2.7.1 and later count only "__lock__" nodes as contenders
// unless given extra_lock_patterns=["-lock-"]; zkfence counts both kinds. The
// README tells Kazoo users to add the option; these tests show that with it
// the lock excludes in both directions, and that without it Kazoo takes a
// lock zkfence holds (so they notice if Kazoo's default changes).

// systemPython is Debian's python3, where python3-kazoo is installed (not a
// pyenv shim that may come first in PATH).
const systemPython = "/usr/bin/python3"

// kazooLock is one Kazoo client with one Lock, in a python3 process that
// testdata/kazoo_lock.py drives line by line.
type kazooLock struct {
	stdin  io.WriteCloser
	lines  chan string
	stderr *testlog.Buffer
}

func startKazoo(t *testing.T, path string, extraLockPatterns ...string) *kazooLock {
	t.Helper()
	needZK(t)
	if _, err := os.Stat(systemPython); err != nil {
		t.Fatalf("%s is needed for the Kazoo tests (with Debian's python3-kazoo: scripts/install-deps.sh): %v", systemPython, err)
	}
	args := append([]string{"testdata/kazoo_lock.py", server.Addr(), path}, extraLockPatterns...)
	cmd := exec.Command(systemPython, args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE=1", "PYTHONNOUSERSITE=1"}
	k := &kazooLock{lines: make(chan string, 8), stderr: &testlog.Buffer{}}
	cmd.Stderr = k.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	k.stdin = stdin
	done := make(chan struct{})
	go func() {
		defer close(k.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			k.lines <- sc.Text()
		}
	}()
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		stdin.Close() // the script closes its session at the end of stdin
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	ready := k.next(t, 30*time.Second)
	if !strings.HasPrefix(ready, "ready ") {
		t.Fatalf("Kazoo said %q, want ready; stderr:\n%s", ready, k.stderr.String())
	}
	t.Logf("Kazoo %s, extra_lock_patterns %q", strings.TrimPrefix(ready, "ready "), extraLockPatterns)
	return k
}

func (k *kazooLock) next(t *testing.T, wait time.Duration) string {
	t.Helper()
	select {
	case line, ok := <-k.lines:
		if !ok {
			t.Fatalf("Kazoo's script exited; stderr:\n%s", k.stderr.String())
		}
		return line
	case <-time.After(wait):
		t.Fatalf("no answer from Kazoo's script in %s; stderr:\n%s", wait, k.stderr.String())
		return ""
	}
}

// acquire asks Kazoo for the lock, waiting up to seconds; it reports whether
// Kazoo holds it.
func (k *kazooLock) acquire(t *testing.T, seconds int) bool {
	t.Helper()
	fmt.Fprintf(k.stdin, "acquire %d\n", seconds)
	switch answer := k.next(t, time.Duration(seconds+15)*time.Second); {
	case strings.HasPrefix(answer, "acquired "):
		return true
	case answer == "timeout":
		return false
	default:
		t.Fatalf("Kazoo answered %q to acquire; stderr:\n%s", answer, k.stderr.String())
		return false
	}
}

func (k *kazooLock) release(t *testing.T) {
	t.Helper()
	fmt.Fprintln(k.stdin, "release")
	if answer := k.next(t, 15*time.Second); answer != "released" {
		t.Fatalf("Kazoo answered %q to release; stderr:\n%s", answer, k.stderr.String())
	}
}

// TestKazooWithExtraLockPatternsWaitsForZkfence: zkfence holds; Kazoo with
// extra_lock_patterns=["-lock-"] does not get the lock, and gets it once
// zkfence releases.
func TestKazooWithExtraLockPatternsWaitsForZkfence(t *testing.T) {
	needZK(t)
	p := lockPath(t)
	s := dial(t, server.Addr(), 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h, err := s.Acquire(ctx, AcquireOptions{Path: p})
	if err != nil {
		t.Fatal(err)
	}
	k := startKazoo(t, s.abs(p), curatorLockName)
	if k.acquire(t, 3) {
		t.Fatalf("Kazoo with extra_lock_patterns acquired the lock while zkfence held it (%s)", h.Node)
	}
	if err := s.deleteNode(h.Node); err != nil {
		t.Fatal(err)
	}
	if !k.acquire(t, 10) {
		t.Fatal("Kazoo did not acquire the lock after zkfence released it")
	}
	k.release(t)
}

// TestZkfenceWaitsForKazoo: Kazoo (with the option, as the README says)
// holds; zkfence's Acquire does not return until Kazoo releases, then holds.
func TestZkfenceWaitsForKazoo(t *testing.T) {
	needZK(t)
	p := lockPath(t)
	s := dial(t, server.Addr(), 10*time.Second)
	k := startKazoo(t, s.abs(p), curatorLockName)
	if !k.acquire(t, 10) {
		t.Fatal("Kazoo did not acquire a free lock")
	}
	waits := make(chan Waiting, 4)
	r := acquireAsync(context.Background(), s, AcquireOptions{Path: p, OnWait: func(w Waiting) { waits <- w }})
	requirePending(t, r, 2*time.Second)
	if w := <-waits; w.Ahead != 1 || !strings.Contains(w.Predecessor, kazooLockName) {
		t.Errorf("zkfence waits %+v; want 1 ahead, watching Kazoo's node", w)
	}
	released := time.Now()
	k.release(t)
	got := waitResult(t, r)
	if got.err != nil {
		t.Fatal(got.err)
	}
	if got.held.Confirmed.Before(released) {
		t.Errorf("zkfence's hold was confirmed at %s, before Kazoo released at %s", got.held.Confirmed, released)
	}
	s.deleteNode(got.held.Node)
}

// TestKazooWithoutExtraLockPatternsTakesAHeldLock is the hazard the README
// warns of: Kazoo's default Lock ignores zkfence's "-lock-" node and acquires
// while zkfence holds. If this fails, Kazoo has changed its default: update
// the README.
func TestKazooWithoutExtraLockPatternsTakesAHeldLock(t *testing.T) {
	needZK(t)
	p := lockPath(t)
	s := dial(t, server.Addr(), 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h, err := s.Acquire(ctx, AcquireOptions{Path: p})
	if err != nil {
		t.Fatal(err)
	}
	k := startKazoo(t, s.abs(p))
	if !k.acquire(t, 5) {
		t.Fatal("Kazoo without extra_lock_patterns waited for zkfence's node: its default changed, the README's warning is out of date")
	}
	k.release(t)
	if err := s.deleteNode(h.Node); err != nil {
		t.Fatal(err)
	}
}
