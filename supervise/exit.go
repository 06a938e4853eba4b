package supervise

import (
	"errors"
	"syscall"

	"github.com/zkfence/zkfence/exitcode"
)

var (
	// ErrNotFound: the command was not found (exit 127).
	ErrNotFound = errors.New("command not found")
	// ErrNotExecutable: the command exists but cannot be executed: no execute
	// permission, a directory, a bad format (exit 126).
	ErrNotExecutable = errors.New("command not executable")
	// ErrBadUser: the user or group is unknown or malformed.
	ErrBadUser = errors.New("bad user or group")
	// ErrBusy: Start was called while another Child's tree is still live.
	ErrBusy = errors.New("another child is still supervised")
	// ErrSurvivors: Stop could not confirm that the whole tree is gone.
	ErrSurvivors = errors.New("processes survive")
)

// ExitCodeOf maps an error from Start to the exit code zkfence should give:
// 0 for nil, 127 for ErrNotFound, 126 for ErrNotExecutable, RefusedConfig for
// ErrBadUser, Internal for anything else.
func ExitCodeOf(err error) int {
	switch {
	case err == nil:
		return exitcode.OK
	case errors.Is(err, ErrNotFound):
		return exitcode.NotFound
	case errors.Is(err, ErrNotExecutable):
		return exitcode.CannotExecute
	case errors.Is(err, ErrBadUser):
		return exitcode.RefusedConfig
	default:
		return exitcode.Internal
	}
}

// exitCodeOfStatus is the exit code that stands for a wait status: the code
// itself, or 128+N for a death by signal N.
func exitCodeOfStatus(ws syscall.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return exitcode.SignalBase + int(ws.Signal())
	default:
		return exitcode.Internal // not reachable: the reaper never asks for stop/continue events
	}
}

// execErr classifies an error of fork+exec the way execvp's errno is read by
// tini and the shell: not found (127), cannot execute (126), or neither.
func execErr(path string, err error) error {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err
	}
	switch errno {
	case syscall.ENOENT, syscall.ENOTDIR:
		return &pathError{path, ErrNotFound, errno}
	case syscall.EAGAIN, syscall.ENOMEM:
		return &pathError{path, nil, errno}
	default:
		return &pathError{path, ErrNotExecutable, errno}
	}
}

// pathError says which command failed, why (the errno), and in which class
// (ErrNotFound, ErrNotExecutable) for errors.Is.
type pathError struct {
	path  string
	class error
	errno syscall.Errno
}

func (e *pathError) Error() string {
	if e.class == nil {
		return "exec " + e.path + ": " + e.errno.Error()
	}
	return "exec " + e.path + ": " + e.class.Error() + ": " + e.errno.Error()
}

func (e *pathError) Unwrap() []error {
	if e.class == nil {
		return []error{e.errno}
	}
	return []error{e.class, e.errno}
}
