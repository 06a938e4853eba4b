package dbtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/zkfence/zkfence/internal/testlog"
)

// startTimeout bounds how long Start waits for the server to answer.
const startTimeout = 60 * time.Second

// stopTimeout bounds a clean shutdown before Stop kills the server.
const stopTimeout = 30 * time.Second

// Server is one running database server.
type Server struct {
	Engine  string
	DataDir string
	SockDir string
	Socket  string // the socket file

	cmd  *exec.Cmd
	out  *testlog.Buffer
	done chan struct{}
	err  error // the server's exit, once done is closed
}

// Argv is the foreground command line of a server for dataDir, listening
// only on a socket in sockDir. Run it as the engine's user (PostgreSQL
// refuses root; mariadbd gets --user=mysql and drops root itself).
func Argv(engine, dataDir, sockDir string) []string {
	if engine == Postgres {
		return []string{PGBin + "/postgres", "-D", dataDir, "-k", sockDir, "-c", "listen_addresses="}
	}
	return []string{"/usr/sbin/mariadbd", "--no-defaults", "--datadir=" + dataDir, "--socket=" + mysqlSocket(sockDir),
		"--skip-networking", "--user=mysql", "--pid-file=" + sockDir + "/mariadb.pid", "--tmpdir=" + sockDir}
}

// Start starts a server on dataDir (already initialised or restored) and
// waits until it answers a query. sockDir is created for the engine's user.
func Start(engine, dataDir, sockDir string) (*Server, error) {
	if err := mkdirFor(engine, sockDir); err != nil {
		return nil, err
	}
	argv := Argv(engine, dataDir, sockDir)
	s := &Server{Engine: engine, DataDir: dataDir, SockDir: sockDir, out: &testlog.Buffer{}, done: make(chan struct{})}
	s.Socket = mysqlSocket(sockDir)
	if engine == Postgres {
		s.Socket = pgSocket(sockDir)
	}
	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.Stdout, s.cmd.Stderr, s.cmd.Dir = s.out, s.out, "/"
	attr := &syscall.SysProcAttr{Setpgid: true}
	if engine == Postgres {
		var err error
		if attr, err = credential(engine); err != nil {
			return nil, err
		}
	}
	s.cmd.SysProcAttr = attr
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.err = s.cmd.Wait(); close(s.done) }()
	if err := s.waitReady(); err != nil {
		s.Kill()
		return nil, err
	}
	return s, nil
}

// waitReady polls the server with a trivial query.
func (s *Server) waitReady() error {
	deadline := time.Now().Add(startTimeout)
	for {
		_, err := s.Query("SELECT 1")
		if err == nil {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("%s exited during start: %v\n%s", s.Engine, s.err, s.Output())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer within %s: %v\n%s", s.Engine, startTimeout, err, s.Output())
		}
	}
}

// Query runs SQL with the engine's command-line client and returns its
// unaligned, headerless output, trimmed.
func (s *Server) Query(sql string) (string, error) {
	return Query(s.Engine, s.SockDir, sql)
}

// Query runs SQL against the server whose socket is in sockDir.
func Query(engine, sockDir, sql string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var cmd *exec.Cmd
	if engine == Postgres {
		cmd = exec.CommandContext(ctx, PGBin+"/psql", "-h", sockDir, "-U", "postgres", "-X", "-q", "-A", "-t",
			"-v", "ON_ERROR_STOP=1", "-c", sql)
	} else {
		cmd = exec.CommandContext(ctx, "mariadb", "--no-defaults", "-S", mysqlSocket(sockDir), "-uroot", "-N", "-B", "-e", sql)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s query %q: %v: %s", engine, sql, err, bytes.TrimSpace(out))
	}
	return strings.TrimSpace(string(out)), nil
}

// Stop shuts the server down cleanly (PostgreSQL: SIGINT, fast shutdown;
// MariaDB: SIGTERM) and waits; after stopTimeout it kills it. It returns an
// error when the server did not exit cleanly.
func (s *Server) Stop() error {
	sig := syscall.SIGTERM
	if s.Engine == Postgres {
		sig = syscall.SIGINT
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(stopTimeout):
		s.Kill()
		return fmt.Errorf("%s did not stop within %s", s.Engine, stopTimeout)
	}
	var exit *exec.ExitError
	if errors.As(s.err, &exit) {
		return fmt.Errorf("%s exited: %v\n%s", s.Engine, s.err, s.Output())
	}
	return s.err
}

// Kill SIGKILLs the server's process group and waits for it.
func (s *Server) Kill() {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
}

// Done is closed when the server has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

// Output is what the server wrote to stdout and stderr (its log).
func (s *Server) Output() string { return s.out.String() }
