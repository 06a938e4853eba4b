package zkserver

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// stopGrace is how long Stop waits after SIGTERM before it uses SIGKILL.
const stopGrace = 10 * time.Second

// Server is one ZooKeeper JVM: standalone (from Start or StartMain) or a
// member of an Ensemble. Its methods are safe for concurrent use. Control
// methods (Stop, Kill, Launch, Restart, Freeze, Thaw) are serialized.
type Server struct {
	id         int // myid in an ensemble, 0 when standalone
	opts       Options
	in         install
	files      serverFiles
	clientPort int

	ctl sync.Mutex // serializes control operations

	mu     sync.Mutex // guards the fields below
	proc   *process   // nil when the JVM is not running
	frozen bool
	closed bool
}

// Start starts a standalone ZooKeeper on a free 127.0.0.1 port with its own
// temporary directory, and returns once it serves requests (srvr answers
// with a Mode). It fails the test (never skips) when ZooKeeper or java is
// missing or the server does not serve within opts.StartTimeout. A cleanup
// kills the JVM (SIGCONT, then SIGKILL, so a frozen one dies too) and
// removes its files, after logging the tail of the server log if the test
// failed.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := startStandalone(opts)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s", s.failureReport())
		}
		if err := s.destroy(); err != nil {
			t.Logf("zkserver: cleanup: %v", err)
		}
	})
	return s
}

// StartMain is Start for TestMain, where there is no *testing.T: it returns
// the serving server and a stop function that kills it and removes its
// files (call it after m.Run; it is idempotent). Use Server.LogTail to show
// the server log when m.Run fails.
func StartMain(opts Options) (*Server, func(), error) {
	s, err := startStandalone(opts)
	if err != nil {
		return nil, func() {}, err
	}
	return s, func() { _ = s.destroy() }, nil
}

// startStandalone starts and waits for a standalone server, retrying with
// fresh ports when the chosen client port was taken in the meantime.
func startStandalone(opts Options) (*Server, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	in, err := findInstall()
	if err != nil {
		return nil, err
	}
	return withFreshPorts(func() (*Server, error) { return tryStandalone(opts, in) })
}

// withFreshPorts calls try, which picks free ports, up to 3 times while it
// fails because a port it picked was taken in the meantime.
func withFreshPorts[T any](try func() (T, error)) (T, error) {
	const attempts = 3
	for attempt := 1; ; attempt++ {
		v, err := try()
		if err == nil {
			return v, nil
		}
		if attempt >= attempts || !errors.Is(err, errPortInUse) {
			var none T
			return none, err
		}
	}
}

func tryStandalone(opts Options, in install) (*Server, error) {
	dir, err := os.MkdirTemp("", "zkserver-")
	if err != nil {
		return nil, fmt.Errorf("zkserver: creating temp dir: %w", err)
	}
	port, err := FreePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &Server{opts: opts, in: in, files: newServerFiles(dir), clientPort: port}
	if err := s.files.write(renderConfig(opts, s.files.dataDir, port, nil), 0); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := s.Launch(); err != nil {
		s.destroy()
		return nil, err
	}
	if err := s.WaitServing(opts.StartTimeout); err != nil {
		err = fmt.Errorf("%w\n%s", err, s.LogTail(40))
		s.destroy()
		return nil, err
	}
	return s, nil
}

// errPortInUse marks a start that failed because a port was taken.
var errPortInUse = errors.New("zkserver: port already in use")

// ID is the server's myid in its ensemble (1..n), 0 for a standalone server.
func (s *Server) ID() int { return s.id }

// Addr is the client address, "127.0.0.1:port". It does not change across
// restarts.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.clientPort)) }

// Options returns the options the server runs with, defaults filled in.
func (s *Server) Options() Options { return s.opts }

// Dir is the server's temporary directory (zoo.cfg, logs, data/).
func (s *Server) Dir() string { return s.files.dir }

// DataDir is the server's dataDir. It survives restarts.
func (s *Server) DataDir() string { return s.files.dataDir }

// LogFile is the path of the server's log4j log.
func (s *Server) LogFile() string { return s.files.log }

// Pid is the JVM's process ID, 0 when it is not running.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil || s.proc.exited() {
		return 0
	}
	return s.proc.pid
}

// Running reports whether the JVM is alive (frozen counts as alive).
func (s *Server) Running() bool { return s.Pid() != 0 }

// Frozen reports whether the JVM was stopped with Freeze and not thawed.
func (s *Server) Frozen() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.frozen && s.proc != nil && !s.proc.exited()
}

// Launch starts the JVM again on the same ports and data directory, without
// waiting for it to serve (an ensemble member cannot serve until a quorum is
// up; use WaitServing). It is a no-op when the JVM is already running.
func (s *Server) Launch() error {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	return s.launchLocked()
}

func (s *Server) launchLocked() error {
	s.mu.Lock()
	closed, proc := s.closed, s.proc
	s.mu.Unlock()
	if closed {
		return errors.New("zkserver: server already destroyed")
	}
	if proc != nil && !proc.exited() {
		return nil
	}
	p, err := startProcess(s.in, s.opts.JVMFlags, s.files)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.proc, s.frozen = p, false
	s.mu.Unlock()
	return nil
}

// Restart stops the server if it runs (SIGTERM, as Stop), starts it again on
// the same ports and data directory, and waits until it serves (within
// Options.StartTimeout). To restart after a crash, Kill then Restart.
func (s *Server) Restart() error {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	if err := s.stopLocked(); err != nil {
		return err
	}
	if err := s.launchLocked(); err != nil {
		return err
	}
	return s.WaitServing(s.opts.StartTimeout)
}

// Stop stops the JVM with SIGTERM (after SIGCONT, in case it is frozen) and
// waits until it has exited; after 10s it uses SIGKILL. No-op if stopped.
func (s *Server) Stop() error {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	return s.stopLocked()
}

func (s *Server) stopLocked() error {
	p := s.current()
	if p == nil {
		return nil
	}
	_ = p.signal(syscall.SIGCONT)
	if err := p.signal(syscall.SIGTERM); err != nil {
		return err
	}
	if !p.wait(stopGrace) {
		if err := p.kill(); err != nil {
			return err
		}
	}
	s.forget(p)
	return nil
}

// Kill kills the JVM with SIGKILL (a crash: nothing is flushed, sessions are
// not closed) and waits until it is reaped. No-op if stopped.
func (s *Server) Kill() error {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	return s.killLocked()
}

func (s *Server) killLocked() error {
	p := s.current()
	if p == nil {
		return nil
	}
	if err := p.kill(); err != nil {
		return err
	}
	s.forget(p)
	return nil
}

// Freeze stops the JVM with SIGSTOP: its sockets stay open, the kernel still
// accepts connections, but nothing answers (a VM pause, a long GC).
func (s *Server) Freeze() error {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	p := s.current()
	if p == nil {
		return errors.New("zkserver: Freeze: server not running")
	}
	if err := p.signal(syscall.SIGSTOP); err != nil {
		return err
	}
	s.mu.Lock()
	s.frozen = true
	s.mu.Unlock()
	return nil
}

// Thaw resumes a frozen JVM with SIGCONT.
func (s *Server) Thaw() error {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	p := s.current()
	if p == nil {
		return errors.New("zkserver: Thaw: server not running")
	}
	if err := p.signal(syscall.SIGCONT); err != nil {
		return err
	}
	s.mu.Lock()
	s.frozen = false
	s.mu.Unlock()
	return nil
}

// WaitServing waits until the server serves client requests (srvr reports
// a Mode), polling, for at most timeout. It fails at once if the JVM exits.
func (s *Server) WaitServing(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		p := s.current()
		if p == nil {
			return fmt.Errorf("zkserver: %s is not running", s.name())
		}
		if p.exited() {
			err := fmt.Errorf("zkserver: %s exited before serving (%s)", s.name(), p.exitStatus())
			if s.logMentionsBindFailure() {
				err = fmt.Errorf("%w: %w", errPortInUse, err)
			}
			return err
		}
		if st, err := s.status(time.Second); err == nil && st.Serving {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("zkserver: %s not serving after %v", s.name(), timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Serving reports whether the server answers srvr with a Mode now.
func (s *Server) Serving() bool {
	st, err := s.status(2 * time.Second)
	return err == nil && st.Serving
}

// Mode is the server's Mode from srvr: "standalone", "leader" or
// "follower"; an error when it does not answer or does not serve.
func (s *Server) Mode() (string, error) {
	st, err := s.status(2 * time.Second)
	if err != nil {
		return "", err
	}
	if !st.Serving {
		return "", fmt.Errorf("zkserver: %s is not serving", s.name())
	}
	return st.Mode, nil
}

// destroy kills the JVM and removes the server's files (kept when
// ZKSERVER_KEEP is set). It is idempotent.
func (s *Server) destroy() error {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	if already {
		return nil
	}
	err := s.killLocked()
	if os.Getenv("ZKSERVER_KEEP") == "" {
		if rerr := os.RemoveAll(s.files.dir); rerr != nil && err == nil {
			err = fmt.Errorf("zkserver: removing %s: %w", s.files.dir, rerr)
		}
	}
	return err
}

// current is the live process, or nil.
func (s *Server) current() *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc
}

// forget drops p once it has exited.
func (s *Server) forget(p *process) {
	s.mu.Lock()
	if s.proc == p {
		s.proc, s.frozen = nil, false
	}
	s.mu.Unlock()
}

func (s *Server) name() string {
	if s.id == 0 {
		return "zookeeper " + s.Addr()
	}
	return fmt.Sprintf("zookeeper %d (%s)", s.id, s.Addr())
}

// Log returns the server's whole log (log4j output, then the JVM's own
// stdout and stderr).
func (s *Server) Log() string {
	return s.LogTail(0)
}

// LogTail returns the last n lines of the server log and of the JVM's
// stdout/stderr (all of them when n <= 0).
func (s *Server) LogTail(n int) string {
	var b strings.Builder
	for _, f := range []string{s.files.log, s.files.stdout} {
		data, err := os.ReadFile(f)
		if err != nil || len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		fmt.Fprintf(&b, "==> %s <==\n%s\n", f, tailLines(string(data), n))
	}
	return b.String()
}

// failureReport is what a failed test shows about the server.
func (s *Server) failureReport() string {
	return fmt.Sprintf("zkserver: %s log tail (dir %s):\n%s", s.name(), s.files.dir, s.LogTail(150))
}

func (s *Server) logMentionsBindFailure() bool {
	for _, f := range []string{s.files.log, s.files.stdout} {
		data, _ := os.ReadFile(f)
		if bytes.Contains(data, []byte("Address already in use")) || bytes.Contains(data, []byte("BindException")) {
			return true
		}
	}
	return false
}

func tailLines(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	if n <= 0 {
		return s
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
