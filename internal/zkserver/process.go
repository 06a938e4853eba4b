package zkserver

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// process is one running ZooKeeper JVM.
type process struct {
	pid  int
	cmd  *exec.Cmd
	done chan struct{} // closed once the JVM has exited and been reaped
	err  error         // cmd.Wait's result; read only after done is closed
}

// startProcess starts "java ... QuorumPeerMain zoo.cfg" for one server. The
// JVM runs in its own process group with PR_SET_PDEATHSIG=SIGKILL, so it dies
// with the test binary even when the binary is killed or times out.
func startProcess(in install, flags []string, f serverFiles) (*process, error) {
	out, err := os.OpenFile(f.stdout, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("zkserver: opening JVM output file: %w", err)
	}
	args := append([]string(nil), flags...)
	args = append(args,
		"-Dlog4j.configuration=file:"+f.log4j,
		"-Dzookeeper.jmx.log4j.disable=true",
		"-Dzookeeper.admin.enableServer=false",
		"-cp", in.classpath,
		"org.apache.zookeeper.server.quorum.QuorumPeerMain", f.cfg,
	)
	cmd := exec.Command(in.java, args...)
	cmd.Dir = f.dir
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	p := &process{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal fires when the thread that forked the
		// child exits, not the process. Keep that thread locked to this
		// goroutine, which lives exactly as long as the JVM, so no other
		// goroutine can take it over and end it.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	err = <-started
	out.Close() // the child has its own copy
	if err != nil {
		return nil, fmt.Errorf("zkserver: starting %s: %w", in.java, err)
	}
	p.pid = cmd.Process.Pid
	return p, nil
}

// signal sends sig to the JVM; a JVM that has already exited is not an error.
func (p *process) signal(sig syscall.Signal) error {
	if err := syscall.Kill(p.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("zkserver: sending %v to pid %d: %w", sig, p.pid, err)
	}
	return nil
}

// exited reports whether the JVM has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits up to timeout for the JVM to exit and reports whether it did.
func (p *process) wait(timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return true
	case <-t.C:
		return false
	}
}

// kill sends SIGCONT (a frozen JVM must not stay stopped) and SIGKILL, and
// waits until the JVM is reaped, so its ports are free afterwards.
func (p *process) kill() error {
	if p.exited() {
		return nil
	}
	_ = p.signal(syscall.SIGCONT)
	if err := p.signal(syscall.SIGKILL); err != nil {
		return err
	}
	if !p.wait(30 * time.Second) {
		return fmt.Errorf("zkserver: pid %d still alive 30s after SIGKILL", p.pid)
	}
	return nil
}

// exitStatus describes how the JVM ended; only valid after done.
func (p *process) exitStatus() string {
	if p.err == nil {
		return "exit status 0"
	}
	return p.err.Error()
}
