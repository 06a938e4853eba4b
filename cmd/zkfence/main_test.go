package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkfence/zkfence/internal/zkserver"
)

// These tests run the built binary, as an operator would, against a real
// ZooKeeper, and check exit codes, logs and the instants children record
// (tailscale's containerboot tests are the model).

var (
	binary string           // the zkfence binary under test
	server *zkserver.Server // shared standalone ZooKeeper, tickTime 200ms
)

// fastFlags fit the shared server: G = 2 x 200ms + 100ms + 200ms = 0.7s,
// K = 0.5s + KillWait 1s; with T = 6s the stop begins 2.23s after the last
// renewal and the child is dead by 3.73s, long before the server expires
// the session (6s).
var fastFlags = []string{
	"--session-timeout", "6s", "--zk-tick-time", "200ms", "--zk-sync-limit", "2",
	"--heartbeat", "200ms", "--stop-grace", "500ms",
}

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "zkfence-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "zkfence")
	build := exec.Command("go", "build", "-race", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build zkfence:", err)
		os.Exit(1)
	}
	s, stop, err := zkserver.StartMain(zkserver.Options{TickTime: 200 * time.Millisecond, MaxSessionTimeout: 10 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	server = s
	code := m.Run()
	stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

func needZK(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no ZooKeeper")
	}
}

// wrapper is one running `zkfence run`.
type wrapper struct {
	t    *testing.T
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs bytes.Buffer
	done chan struct{}
	code int
}

// startWrapper runs zkfence with args and extra environment variables; its
// stderr (the log) is kept.
func startWrapper(t *testing.T, env []string, args ...string) *wrapper {
	t.Helper()
	w := &wrapper{t: t, cmd: exec.Command(binary, args...), done: make(chan struct{})}
	w.cmd.Env = append(append(os.Environ(), "TZ=UTC"), env...)
	// A child that outlives a killed wrapper (a server that drops root
	// itself loses its parent-death signal) must not keep Wait on the pipe.
	w.cmd.WaitDelay = 5 * time.Second
	stderr, err := w.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			w.mu.Lock()
			w.logs.WriteString(sc.Text() + "\n")
			w.mu.Unlock()
		}
		err := w.cmd.Wait()
		w.code = exitCode(err)
		close(w.done)
	}()
	t.Cleanup(func() {
		select {
		case <-w.done:
		default:
			w.stopOrKill()
		}
		if t.Failed() {
			t.Logf("zkfence %s\n%s", strings.Join(args, " "), w.log())
		}
	})
	return w
}

// stopOrKill ends a wrapper a test left running: SIGTERM first, so that it
// stops its child and releases its lock, then SIGKILL for it and its child's
// process group.
func (w *wrapper) stopOrKill() {
	w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
		return
	case <-time.After(20 * time.Second):
	}
	if m := regexp.MustCompile(`msg="child started" pid=(\d+)`).FindStringSubmatch(w.log()); m != nil {
		pid, _ := strconv.Atoi(m[1])
		syscall.Kill(-pid, syscall.SIGKILL)
	}
	w.cmd.Process.Kill()
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		// A thread stuck in a call on a hung mount keeps the process from
		// being reaped until the mount answers; the test's own cleanup of
		// the mount releases it.
		w.t.Logf("zkfence pid %d not reaped after SIGKILL (a thread stuck in the kernel)", w.cmd.Process.Pid)
	}
}

func exitCode(err error) int {
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

func (w *wrapper) log() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.logs.String()
}

// wait waits for the wrapper to exit and returns its exit code.
func (w *wrapper) wait(d time.Duration) int {
	w.t.Helper()
	select {
	case <-w.done:
		return w.code
	case <-time.After(d):
		w.t.Fatalf("zkfence still running after %v\n%s", d, w.log())
		return -1
	}
}

func (w *wrapper) signal(sig syscall.Signal) { w.cmd.Process.Signal(sig) }

// waitLog waits until a log line matches re and returns the line's time.
func (w *wrapper) waitLog(re string, d time.Duration) time.Time {
	w.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(w.log(), "\n") {
			if rx.MatchString(line) {
				return logTime(w.t, line)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.t.Fatalf("no log line matching %q within %v\n%s", re, d, w.log())
	return time.Time{}
}

var timeField = regexp.MustCompile(`^time=(\S+)`)

func logTime(t *testing.T, line string) time.Time {
	m := timeField.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("log line without time: %q", line)
	}
	ts, err := time.Parse(time.RFC3339Nano, m[1])
	if err != nil {
		t.Fatalf("log time %q: %v", m[1], err)
	}
	return ts
}

// lockPath returns a lock path of the test's own and checks, when the test
// ends, that no lock node is left behind.
func lockPath(t *testing.T) string {
	p := "/test/" + strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	t.Cleanup(func() {
		conn := connect(t)
		deadline := time.Now().Add(10 * time.Second)
		for {
			children, _, err := conn.Children(p)
			if err == zk.ErrNoNode || (err == nil && len(children) == 0) {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("lock nodes left behind under %s: %v (%v)", p, children, err)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	return p
}

// connect opens a plain ZooKeeper connection for the test itself.
func connect(t *testing.T) *zk.Conn {
	t.Helper()
	conn, events, err := zk.Connect([]string{server.Addr()}, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(discard{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for conn.State() != zk.StateHasSession {
		select {
		case <-events:
		case <-ctx.Done():
			t.Fatal("no ZooKeeper session")
		}
	}
	t.Cleanup(conn.Close)
	return conn
}

type discard struct{}

func (discard) Printf(string, ...any) {}

// runArgs builds `run` arguments for lock path p.
func runArgs(zkAddr, p string, extra ...string) []string {
	args := append([]string{"run", "--zk", zkAddr, "--lock", p}, fastFlags...)
	return append(args, extra...)
}

// readInstants parses lines "<word> <token> <unix-nanos>" written by child scripts.
func readInstants(t *testing.T, path string) []instant {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []instant
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var in instant
		var ns int64
		if _, err := fmt.Sscanf(line, "%s %d %d", &in.what, &in.token, &ns); err != nil {
			t.Fatalf("bad line %q in %s: %v", line, path, err)
		}
		in.at = time.Unix(0, ns)
		out = append(out, in)
	}
	return out
}

type instant struct {
	what  string
	token int64
	at    time.Time
}
