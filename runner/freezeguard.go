package runner

import (
	"os"
	"runtime"
	"time"

	"github.com/zkfence/zkfence/deadman"
	"github.com/zkfence/zkfence/supervise"
)

// FreezeGuard makes the kernel enforce the lease, for the case the wrapper
// cannot: frozen together with its child (package deadman).
//
// From the moment the lock is held, Switch is armed at the lease's KillBy
// and moved each time the lease's deadlines move; the child runs under
// Wrap's namespace init, started with PR_SET_PDEATHSIG SIGKILL as the init
// of a PID namespace of its own, and so does every process started under
// the lock (package heldexec). When the wrapper misses its deadline, during
// fsck or a restore as well as while the child runs, the kernel SIGKILLs
// it, then those inits, then every process of their namespaces. The switch
// is disarmed only once the child tree is confirmed dead (or none was
// started).
type FreezeGuard struct {
	Switch *deadman.Switch
	// Wrap returns the spec that runs spec under supervise.NamespaceInit,
	// which reports ready on fd 3 (the runner adds the pipe).
	Wrap func(spec supervise.Spec) supervise.Spec
}

// readyTimeout bounds the wait for the namespace init to report ready: a Go
// program's start, well under a second even on a loaded machine.
const readyTimeout = 10 * time.Second

// armFreezeGuard arms the switch at the lease's KillBy: called the moment the
// lock is held.
func (r *run) armFreezeGuard() error {
	g := r.cfg.FreezeGuard
	if g == nil {
		return nil
	}
	if err := g.Switch.Arm(r.lease.KillBy); err != nil {
		return err
	}
	r.log.Info("freeze guard armed: the kernel kills zkfence and everything it started under the lock at the lease deadline",
		"kill_in", r.lease.KillBy().Sub(r.clock.Now()).Round(time.Millisecond))
	return nil
}

// freezeGuardSpec returns the spec to start instead of spec, and the read end of
// its ready pipe (awaitReady); without a guard it returns spec and nil.
func (r *run) freezeGuardSpec(spec supervise.Spec) (supervise.Spec, *os.File, error) {
	g := r.cfg.FreezeGuard
	if g == nil {
		return spec, nil, nil
	}
	ready, w, err := os.Pipe()
	if err != nil {
		return spec, nil, err
	}
	wrapped := g.Wrap(spec)
	wrapped.PIDNamespace = true
	wrapped.ExtraFiles = []*os.File{w}
	return wrapped, ready, nil
}

// awaitReady closes the parent's copy of the ready pipe's write end and,
// when the namespace init was started, waits for it: until it reports
// ready, a signal forwarded to it could be lost. Signals that come
// meanwhile wait in r.sigs.
func (r *run) awaitReady(spec supervise.Spec, ready *os.File, started bool) {
	for _, f := range spec.ExtraFiles {
		f.Close()
	}
	if !started {
		ready.Close()
		return
	}
	if err := supervise.WaitReady(ready, readyTimeout); err != nil {
		r.log.Warn("namespace init not ready", "err", err)
	}
}

// leaseMoved moves the deadman switch with the lease. It runs on the
// lease's goroutine each time the deadlines move (a renewal, a shorter
// negotiated timeout), and must not block: it makes one system call and
// logs only through the non-blocking logger.
func (r *run) leaseMoved() {
	if g := r.cfg.FreezeGuard; g != nil {
		if err := g.Switch.Renewed(); err != nil {
			// The timer keeps its earlier deadline: safe, but it may fire
			// while the lease still holds.
			r.log.Error("freeze guard not moved with the lease", "err", err)
		}
	}
}

// disarmFreezeGuard stops the switch; call it only once the tree is confirmed dead.
func (r *run) disarmFreezeGuard() {
	if g := r.cfg.FreezeGuard; g != nil {
		if err := g.Switch.Disarm(); err != nil {
			r.log.Error("freeze guard not disarmed", "err", err)
		}
	}
}

// startPinned calls supervise.Start on an OS thread that does nothing else
// until unpin is called. PR_SET_PDEATHSIG fires when the thread that forked
// the child exits, not the process: a thread parked here exits at once when
// the wrapper is killed, whereas one that went on to serve a probe stuck on
// a dead mount (uninterruptible sleep) would delay the child's SIGKILL until
// the mount answers. Call unpin only once the tree is confirmed dead.
func startPinned(spec supervise.Spec) (child Child, unpin func(), err error) {
	type started struct {
		child *supervise.Child
		err   error
	}
	out := make(chan started)
	release := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		c, err := supervise.Start(spec)
		out <- started{c, err}
		<-release
		runtime.UnlockOSThread()
	}()
	s := <-out
	if s.err != nil {
		close(release)
		return nil, nil, s.err
	}
	return s.child, func() { close(release) }, nil
}
