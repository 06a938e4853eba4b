package supervise

import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/zkfence/zkfence/internal/sigdefault"
)

// Spec describes the child to start.
type Spec struct {
	// Argv[0] is looked up in PATH (of Env if it sets PATH, else the wrapper's;
	// /bin:/usr/bin if neither does, as execvp).
	Argv []string
	// Env is the child's whole environment (the caller adds ZKFENCE_*). When a
	// key repeats, the last value wins.
	Env []string
	// Dir is the working directory; "" inherits the wrapper's.
	Dir string
	// User (name or numeric uid) and Group (name or numeric gid) are optional;
	// see LookupUser. With either set the child gets HOME, USER and LOGNAME.
	User  string
	Group string
	// SignalMap translates what Forward sends; nil is identity.
	SignalMap SignalMap
	// PIDNamespace starts the child as the init of a new PID namespace
	// (CLONE_NEWPID; needs CAP_SYS_ADMIN). The child is then expected to be
	// NamespaceInit: when it dies, the kernel kills every process of the
	// namespace. See package deadman.
	PIDNamespace bool
	// ExtraFiles are given to the child as fds 3, 4, ... (os/exec's
	// ExtraFiles).
	ExtraFiles []*os.File
}

// Child is the supervised main child and, through it, its whole tree.
//
// Only one Child may be live in a process at a time (S6): Start refuses a
// second one until Stop has returned nil for the first.
type Child struct {
	pid     int
	smap    SignalMap
	tty     bool     // the child's group was made the terminal's foreground group
	helpers *helpers // what is the wrapper's, not the tree's (S3)

	mu     sync.Mutex // held across every wait4 and every signal by pid (S2)
	status syscall.WaitStatus
	reaped bool
	done   chan struct{} // closed by the reaper once the main child is reaped

	sigchld    chan os.Signal
	quit       chan struct{} // closed by Stop to end the reaper
	reaperDone chan struct{} // closed when the reaper has ended

	stopMu   sync.Mutex // one Stop at a time
	finished bool       // Stop confirmed the tree gone and ended the reaper
}

// active is set while a Child is live (S6).
var active atomic.Bool

// Start starts the child in its own process group with stdin, stdout and
// stderr inherited untouched and, when stdin is a terminal whose foreground
// group is the wrapper's, makes the child's group the terminal's foreground
// group (the terminal is handed back when the child exits). It makes the
// wrapper a child subreaper unless it is PID 1, records the wrapper's own
// children and process group to tell its helpers from the tree (S3), and
// starts the reaper.
//
// The child gets SIGKILL if the wrapper's thread that started it dies
// (PR_SET_PDEATHSIG), so that a crashed wrapper that is not PID 1 does not
// leave a database running without its lock. Do not call Start from a
// goroutine locked to its OS thread that may exit while locked.
//
// The child starts with every signal at its default disposition, whatever
// the wrapper inherited (see forkExec).
//
// Errors wrap ErrNotFound (exit 127), ErrNotExecutable (exit 126), ErrBadUser
// or ErrBusy; see ExitCodeOf. Check finds the first three without starting
// anything.
func Start(spec Spec) (*Child, error) {
	path, attr, tty, err := prepare(spec)
	if err != nil {
		return nil, err
	}
	if !active.CompareAndSwap(false, true) {
		return nil, ErrBusy
	}
	if err := BecomeSubreaper(); err != nil {
		active.Store(false)
		return nil, err
	}
	// The snapshot is taken before the fork: a child of the wrapper that
	// appears later is a helper only by the rule's other clauses (a pidfd
	// the wrapper holds for it, the wrapper's group).
	h, err := snapshotHelpers()
	if err != nil {
		active.Store(false)
		return nil, err
	}
	c := &Child{
		helpers:    h,
		smap:       spec.SignalMap,
		tty:        tty,
		done:       make(chan struct{}),
		sigchld:    make(chan os.Signal, 1),
		quit:       make(chan struct{}),
		reaperDone: make(chan struct{}),
	}
	// Ask for SIGCHLD before the fork so that an early exit is not missed;
	// the reaper starts only once c.pid is known, so it cannot discard the
	// main child's status.
	signal.Notify(c.sigchld, syscall.SIGCHLD)
	pid, err := forkExec(path, spec.Argv, attr)
	if err != nil {
		signal.Stop(c.sigchld)
		active.Store(false)
		return nil, err
	}
	c.pid, h.main = pid, pid
	go c.reap()
	return c, nil
}

// forkExec is syscall.ForkExec, with every signal the wrapper ignores reset
// to its default in the child, and exec errors classified (execErr). An
// ignored signal is inherited across exec: a wrapper started under nohup (or
// a shell's trap "") would start a database that ignores SIGHUP, which
// Forward would then deliver to no effect, and a shell child could not even
// trap it. dumb-init and systemd reset dispositions for the same reason
// (tini does not). See package sigdefault for how, and for the signals Go
// cannot reset.
func forkExec(path string, argv []string, attr *syscall.ProcAttr) (int, error) {
	restore, err := sigdefault.ForChildren()
	defer restore()
	if err != nil {
		return 0, fmt.Errorf("signal dispositions for the child: %w", err)
	}
	pid, err := syscall.ForkExec(path, argv, attr)
	if err != nil {
		return 0, execErr(path, err)
	}
	return pid, nil
}

// prepare resolves everything Start needs before the fork: the user, the
// environment, the command's path and the terminal.
func prepare(spec Spec) (string, *syscall.ProcAttr, bool, error) {
	path, env, cred, err := resolve(spec)
	if err != nil {
		return "", nil, false, err
	}
	sys := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	if spec.PIDNamespace {
		sys.Cloneflags = syscall.CLONE_NEWPID
	}
	tty := foregroundTTY(0)
	if tty {
		sys.Foreground, sys.Ctty = true, 0 // Ctty is the child's fd 0
	}
	files := []uintptr{0, 1, 2}
	for _, f := range spec.ExtraFiles {
		files = append(files, f.Fd())
	}
	attr := &syscall.ProcAttr{Dir: spec.Dir, Env: env, Files: files, Sys: sys}
	return path, attr, tty, nil
}

// resolve is what Check and Start share: the working directory is checked,
// the user and group looked up (nil credential: the wrapper's own), the
// environment completed and Argv[0] looked up in its PATH.
func resolve(spec Spec) (path string, env []string, cred *syscall.Credential, err error) {
	if len(spec.Argv) == 0 || spec.Argv[0] == "" {
		return "", nil, nil, &pathError{"", ErrNotFound, syscall.ENOENT}
	}
	if spec.Dir != "" {
		if fi, err := os.Stat(spec.Dir); err != nil {
			return "", nil, nil, fmt.Errorf("working directory: %w", err)
		} else if !fi.IsDir() {
			return "", nil, nil, fmt.Errorf("working directory %s: %w", spec.Dir, syscall.ENOTDIR)
		}
	}
	env = dedupEnv(spec.Env)
	if spec.User != "" || spec.Group != "" {
		id, err := LookupUser(spec.User, spec.Group)
		if err != nil {
			return "", nil, nil, err
		}
		cred = &syscall.Credential{Uid: id.Uid, Gid: id.Gid, Groups: id.Groups}
		env = envFor(env, id)
	}
	if path, err = lookPath(spec.Argv[0], env, spec.Dir); err != nil {
		return "", nil, nil, err
	}
	return path, env, cred, nil
}

// Pid is the main child's process id, which is also its process group id.
func (c *Child) Pid() int { return c.pid }

// Done is closed once the main child has exited and was reaped.
func (c *Child) Done() <-chan struct{} { return c.done }

// ExitCode is valid after Done: the child's exit code, or 128+N when it died
// of signal N. Before Done it is -1.
func (c *Child) ExitCode() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.reaped {
		return -1
	}
	return exitCodeOfStatus(c.status)
}

// Forward sends sig, translated by the SignalMap, to the child's process
// group. It is a no-op after Done (S2) and for signals that are not a
// syscall.Signal.
func (c *Child) Forward(sig os.Signal) {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return
	}
	s = c.smap.Translate(s)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.reaped {
		_ = syscall.Kill(-c.pid, s) // ESRCH: the whole group has just exited
	}
}
