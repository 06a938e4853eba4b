package runner

import (
	"errors"
	"fmt"
	"syscall"
)

// Why a run ended, other than by the child's own exit. The command line maps
// each to a documented exit code (package exitcode). Errors of the storage,
// fence and restore packages pass through wrapped, with their own sentinels.
var (
	ErrRefused     = errors.New("refused configuration")
	ErrLockLost    = errors.New("lock lost")
	ErrStopFailed  = errors.New("child tree not confirmed dead")
	ErrNotAcquired = errors.New("lock not acquired")
	// ErrNotReleased: the run ended with something of its own that may
	// still write (a child tree not confirmed dead, a device not
	// unmounted), so it kept its lock node and session to expire instead
	// of releasing them.
	ErrNotReleased = errors.New("lock not released: a writer of this run may survive")
	// ErrFencingFailed: --fence-required, and the previous holder could not
	// be fenced; nothing was touched.
	ErrFencingFailed = errors.New("fencing the previous holder failed")
)

// ChildExit reports a child that ended by itself with a non-zero code (128+N
// for signal N). A child that exits 0 makes Run return nil.
type ChildExit struct{ Code int }

func (e *ChildExit) Error() string { return fmt.Sprintf("child exited with code %d", e.Code) }

// Interrupted reports a run stopped by a signal before its child started.
type Interrupted struct{ Signal syscall.Signal }

func (e *Interrupted) Error() string {
	return fmt.Sprintf("stopped by %v before the child started", e.Signal)
}
