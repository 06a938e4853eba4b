package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkfence/zkfence/exitcode"
	"github.com/zkfence/zkfence/internal/fstest"
	"github.com/zkfence/zkfence/internal/testmain"
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
	if dir := os.Getenv(fsShutdownEnv); dir != "" { // a test's fence agent runs this binary as a tool
		if err := fstest.Shutdown(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	flag.Parse()
	testmain.Setup()
	if testing.Short() {
		os.Exit(testmain.Check(m.Run(), testmain.LogWriters)) // the in-process runs' log writers
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
	os.Exit(testmain.Check(code, testmain.LogWriters))
}

// fsShutdownEnv makes the test binary shut down the filesystem at the
// directory it names (fstest.Shutdown) and exit, for test fence agents,
// which are shell scripts: xfs_io would hang on another test's frozen mount.
const fsShutdownEnv = "ZKFENCE_TEST_FS_SHUTDOWN"

// needBinaryAndZK skips a test under -short, where TestMain neither
// builds the zkfence binary nor starts ZooKeeper: a test that runs the
// binary needs both set up, even one that never reaches ZooKeeper.
func needBinaryAndZK(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no zkfence binary, no ZooKeeper")
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
	return launchWrapper(t, false, env, args)
}

// launchWrapper is startWrapper; with ownGroup the wrapper runs in a
// process group of its own, which its cleanup kills whole.
func launchWrapper(t *testing.T, ownGroup bool, env, args []string) *wrapper {
	t.Helper()
	w := &wrapper{t: t, cmd: exec.Command(binary, args...), done: make(chan struct{})}
	w.cmd.Env = append(append(os.Environ(), "TZ=UTC"), env...)
	if ownGroup {
		w.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
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
		w.code = fstest.ExitStatus(err)
		close(w.done)
	}()
	t.Cleanup(func() {
		select {
		case <-w.done:
		default:
			w.stopOrKill()
			if ownGroup {
				syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
			}
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

// runInProcess runs the command line through runApp, as main does, in this
// process, and returns the exit code and what it wrote to stderr and stdout. Only for
// command lines that must be refused before anything starts: a run that goes
// on would dial ZooKeeper, so it is given up on (and the test fails) after
// 10 s.
func runInProcess(t *testing.T, args ...string) (int, string) {
	t.Helper()
	errFile, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	saved, savedOut := os.Stderr, os.Stdout
	os.Stderr, os.Stdout = errFile, errFile // usage errors print help on stdout
	done := make(chan int, 1)
	go func() { done <- runApp(append([]string{"zkfence"}, args...)) }()
	var code int
	select {
	case code = <-done:
		os.Stderr, os.Stdout = saved, savedOut
	case <-time.After(10 * time.Second):
		os.Stderr, os.Stdout = saved, savedOut
		t.Fatalf("zkfence %q was not refused within 10s", args)
	}
	out, err := os.ReadFile(errFile.Name())
	if err != nil {
		t.Fatal(err)
	}
	return code, string(out)
}

// TestRefusedConfigurationsExitBeforeConnecting: bad input gets a clear
// message and exit 78 before any connection is made or anything starts
// (I7). It runs in-process, without ZooKeeper: `go test -short` covers it.
func TestRefusedConfigurationsExitBeforeConnecting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	zkAddr := ln.Addr().String()
	marker := filepath.Join(t.TempDir(), "started")
	run := func(extra ...string) []string {
		args := append([]string{"run", "--zk", zkAddr, "--lock", "/x", "--freeze-guard", "off"}, extra...)
		return append(args, "--", "touch", marker)
	}
	tests := []struct {
		name string
		args []string
		want string
		code int // 0: exitcode.RefusedConfig
	}{
		{"budget too small", run("--session-timeout", "10s"), "D_kill - t_s", 0},
		{"zero grace", run("--stop-grace", "0s"), "--stop-grace", 0},
		{"drift", run("--clock-drift", "0.7"), "clock drift", 0},
		{"no command", []string{"run", "--zk", zkAddr, "--lock", "/x", "--freeze-guard", "off"}, "no command", 0},
		{"bad zk", []string{"run", "--zk", "zk1", "--lock", "/x", "--freeze-guard", "off", "--", "true"}, "want host:port", 0},
		{"relative lock", []string{"run", "--zk", zkAddr, "--lock", "x", "--freeze-guard", "off", "--", "true"}, "absolute", 0},
		{"bad signal", run("--stop-signal", "FOO"), "--stop-signal", 0},
		{"bad signal map", run("--signal-map", "TERM"), "--signal-map", 0},
		{"unknown user", run("--user", "no-such-user-zkf"), "no-such-user-zkf", 0},
		{"bad log format", run("--log-format", "xml"), "--log-format", 0},
		{"missing --zk", []string{"run", "--lock", "/x", "--", "true"}, "zk", 0},
		{"unknown flag", run("--no-such-flag"), "no-such-flag", 0},
		{"command not found", []string{"run", "--zk", zkAddr, "--lock", "/x", "--freeze-guard", "off", "--", "/no/such/command"}, "not found", exitcode.NotFound},
		{"bad freeze guard", []string{"run", "--zk", zkAddr, "--lock", "/x", "--freeze-guard", "maybe", "--", "true"}, "--freeze-guard", 0},
		// Issue 16, item 1: inputs that wrapped the budget arithmetic.
		{"sync limit wraps G", run("--zk-tick-time", "500ms", "--zk-sync-limit", "30000000000"), "sync limit", 0},
		{"grace wraps the budget", run("--stop-grace", "1500000h"), "stop time K", 0},
		{"NaN clock drift", run("--clock-drift", "NaN"), "clock drift", 0},
		{"tick time of days", run("--zk-tick-time", "100h"), "tick time", 0},
		{"session timeout of years", run("--session-timeout", "20000h"), "--session-timeout must be positive and at most 1h0m0s", 0},
		{"probe interval of years", run("--mount", "/", "--probe-interval", "2000000h"), "probe interval", 0},
		// Issue 16, item 2: accepted though meaningless.
		{"heartbeat 1ns", run("--heartbeat", "1ns"), "heartbeat 1ns is outside [10ms", 0},
		{"port not a number", []string{"run", "--zk", "h:abc", "--lock", "/x", "--", "true"}, `port "abc" is not a number`, 0},
		{"port out of range", []string{"run", "--zk", "h:99999", "--lock", "/x", "--", "true"}, `port "99999" is not a number in 1-65535`, 0},
		{"NUL in lock path", run("--lock", "/db\x00x"), "U+0000", 0},
		{"escape in lock path", run("--lock", "/db\x1b[2J"), "U+001B", 0},
		{"newline in lock path", run("--lock", "/db\nINFO forged"), "U+000A", 0},
		{"chroot /zookeeper", []string{"run", "--zk", zkAddr + "/zookeeper", "--lock", "/x", "--", "true"}, "reserved", 0},
		{"chroot under /zookeeper", []string{"run", "--zk", zkAddr + "/zookeeper/quota", "--lock", "/x", "--", "true"}, "reserved", 0},
		{"chroot reaching /zookeeper", []string{"run", "--zk", zkAddr + "/a/../zookeeper", "--lock", "/x", "--", "true"}, "not allowed", 0},
		{"lock path under /zookeeper", run("--lock", "/zookeeper/config"), "reserved", 0},
		{"stop signal STOP", run("--stop-signal", "STOP"), "--stop-signal SIGSTOP suspends the child", 0},
		{"stop signal TSTP", run("--stop-signal", "TSTP"), "SIGTSTP suspends", 0},
		{"stop signal TTIN", run("--stop-signal", "21"), "SIGTTIN suspends", 0},
		{"stop signal TTOU", run("--stop-signal", "SIGTTOU"), "SIGTTOU suspends", 0},
		{"signal map makes TERM a STOP", run("--signal-map", "TERM:STOP"), "SIGTERM would become SIGSTOP", 0},
		{"signal map makes INT a TSTP", run("--signal-map", "INT:TSTP"), "SIGINT would become SIGTSTP", 0},
		{"mount does not exist", run("--mount", "/nonexistent"), "--mount /nonexistent: no such file or directory", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.code
			if want == 0 {
				want = exitcode.RefusedConfig
			}
			code, stderr := runInProcess(t, tt.args...)
			if code != want {
				t.Fatalf("exit %d, want %d\n%s", code, want, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Fatalf("message does not mention %q:\n%s", tt.want, stderr)
			}
		})
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("refused configurations made %d connections to ZooKeeper", n)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a refused configuration started its child")
	}
}
