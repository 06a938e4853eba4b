package supervise

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/zkfence/zkfence/exitcode"
)

// NamespaceInit is the init of the child's PID namespace (Spec.PIDNamespace):
// it runs spec as its only child and returns the code to exit with, the
// child's own (128+N when it died of signal N; 126/127 when it could not be
// executed). It does the least an init can:
//
//   - The child stays in the init's process group, which the wrapper made
//     (and made the terminal's foreground group), so the wrapper's signals to
//     that group reach the child directly. The init catches every signal the
//     wrapper forwards and does nothing with it: forwarding it again would
//     deliver it twice.
//   - It reaps every process of the namespace: orphans are reparented to it.
//   - When the child has exited, it sends stop.Signal to whatever is left in
//     the namespace (kill(-1), which reaches exactly the namespace's other
//     processes), waits up to stop.Grace for them, and returns. Its exit makes
//     the kernel SIGKILL every process still in the namespace.
//
// The last point is what the freeze guard builds on: the wrapper starts the
// init with PR_SET_PDEATHSIG SIGKILL, so when the wrapper is killed (by its
// deadman timer, while frozen), the init dies, and with it the whole tree,
// without any process of it running user-space code first.
//
// ready, if not nil, is written one byte and closed once the signal handlers
// are in place and the child was started (or failed to start): a signal the
// wrapper sends before that could kill the init (Go's default action) or be
// dropped (the kernel drops a namespace init's default-action signals), so
// the wrapper waits for it before it forwards anything (WaitReady).
//
// It must be called in the init of a new PID namespace (PID 1), before any
// other child is started; errors before the child runs are written to stderr.
func NamespaceInit(spec Spec, stop StopPolicy, ready io.WriteCloser) int {
	if ready != nil {
		defer ready.Close()
	}
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "zkfence nsinit: not the init of a PID namespace")
		return exitcode.Internal
	}
	sigs, stopSignals := Signals()
	defer stopSignals()
	go func() { // caught, so that they neither kill the init nor reach it twice
		for range sigs {
		}
	}()
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, syscall.SIGCHLD)
	defer signal.Stop(chld)

	path, env, cred, err := resolve(spec)
	if err != nil {
		fmt.Fprintf(os.Stderr, "zkfence: %v\n", err)
		return ExitCodeOf(err)
	}
	attr := &syscall.ProcAttr{Dir: spec.Dir, Env: env, Files: []uintptr{0, 1, 2},
		Sys: &syscall.SysProcAttr{Credential: cred}}
	pid, err := forkExec(path, spec.Argv, attr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "zkfence: %v\n", err)
		return ExitCodeOf(err)
	}
	if ready != nil {
		_, _ = ready.Write([]byte{1})
		ready.Close()
	}
	status := reapUntilExit(pid, chld)
	stopLeftovers(stop, chld)
	return exitCodeOfStatus(status)
}

// reapUntilExit reaps every child of the init until pid has exited, and
// returns pid's status.
func reapUntilExit(pid int, chld <-chan os.Signal) syscall.WaitStatus {
	tick := time.NewTicker(safetyTick)
	defer tick.Stop()
	var status syscall.WaitStatus
	exited := false
	for {
		reapExited(func(got int, ws syscall.WaitStatus) {
			if got == pid {
				status, exited = ws, true
			}
		})
		if exited {
			return status
		}
		select {
		case <-chld:
		case <-tick.C:
		}
	}
}

// stopLeftovers asks every other process of the namespace to stop, and reaps
// them until none is left or the grace ends.
func stopLeftovers(stop StopPolicy, chld <-chan os.Signal) {
	sig := stop.Signal
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	if err := syscall.Kill(-1, sig); errors.Is(err, syscall.ESRCH) {
		return // nobody left
	}
	if sig != syscall.SIGKILL {
		_ = syscall.Kill(-1, syscall.SIGCONT)
	}
	deadline := time.NewTimer(stop.Grace)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for !reapExited(func(int, syscall.WaitStatus) {}) {
		select {
		case <-deadline.C:
			return // the kernel SIGKILLs the rest when the init exits
		case <-chld:
		case <-tick.C:
		}
	}
}

// reapExited reaps every exited child without blocking, calling seen for
// each, and reports whether the init has no child left at all.
func reapExited(seen func(pid int, ws syscall.WaitStatus)) (none bool) {
	for {
		var ws syscall.WaitStatus
		got, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.ECHILD):
			return true
		case err != nil || got <= 0:
			return false
		}
		seen(got, ws)
	}
}

// ProbePIDNamespace starts argv (a command that exits at once, with its
// output discarded) as the init of a new PID namespace and waits for it: nil
// when this process may create PID namespaces, which Spec.PIDNamespace
// needs. Without CAP_SYS_ADMIN (a container's default capabilities, or a
// seccomp profile that forbids it) it returns the kernel's EPERM.
func ProbePIDNamespace(argv []string) error {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer null.Close()
	fd := null.Fd()
	pid, err := syscall.ForkExec(argv[0], argv, &syscall.ProcAttr{
		Files: []uintptr{fd, fd, fd},
		Sys:   &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID, Pdeathsig: syscall.SIGKILL},
	})
	if err != nil {
		return fmt.Errorf("start a process in a new PID namespace: %w", err)
	}
	var ws syscall.WaitStatus
	for {
		_, err = syscall.Wait4(pid, &ws, 0, nil)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("wait for the PID namespace probe: %w", err)
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		return fmt.Errorf("the PID namespace probe %v ended with status %v", argv, ws)
	}
	return nil
}

// WaitReady waits until the namespace init wrote its ready byte, closed its
// end (it failed before the child ran, and exits), or timeout passed.
func WaitReady(r *os.File, timeout time.Duration) error {
	defer r.Close()
	_ = r.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 1)
	n, err := r.Read(buf)
	switch {
	case n == 1:
		return nil
	case errors.Is(err, io.EOF):
		return errors.New("the namespace init exited before its child started")
	default:
		return fmt.Errorf("the namespace init did not report ready: %w", err)
	}
}
