package main

import (
	"errors"
	"fmt"

	"github.com/zkfence/zkfence/exitcode"
	"github.com/zkfence/zkfence/fence"
	"github.com/zkfence/zkfence/fsguard"
	"github.com/zkfence/zkfence/lock"
	"github.com/zkfence/zkfence/restore"
	"github.com/zkfence/zkfence/runner"
	"github.com/zkfence/zkfence/supervise"
)

// errQuiet marks an error already reported to the user.
// errCheckFailed is quiet too: check printed its findings.
var errQuiet = errors.New("already reported")

// errRefused marks bad input found by the command line itself.
var errRefused = errors.New("refused")

// refused formats an error for bad input (exit code RefusedConfig).
func refused(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errRefused}, args...)...)
}

// exitCodeOf maps the error a command returned to the process exit code.
// Errors of starting the child are mapped by supervise.ExitCodeOf, the map
// zkfence nsinit uses too, so that the same error gives the same code
// whichever process of zkfence meets it.
func exitCodeOf(err error) int {
	var child *runner.ChildExit
	var intr *runner.Interrupted
	switch {
	case err == nil:
		return exitcode.OK
	case errors.Is(err, runner.ErrNotReleased):
		return exitcode.NotReleased
	case errors.As(err, &child):
		return child.Code
	case errors.Is(err, errCheckFailed):
		return exitcode.CheckFailed
	case errors.As(err, &intr):
		return exitcode.SignalBase + int(intr.Signal)
	case errors.Is(err, errRefused), errors.Is(err, runner.ErrRefused), errors.Is(err, lock.ErrRefused), isUsageError(err):
		return exitcode.RefusedConfig
	case errors.Is(err, runner.ErrFencingFailed):
		return exitcode.FencingFailed
	case errors.Is(err, runner.ErrLockLost):
		return exitcode.LockLost
	case errors.Is(err, fsguard.ErrMountLost), errors.Is(err, fence.ErrUnreachable):
		return exitcode.MountLost
	case errors.Is(err, fence.ErrFenced):
		return exitcode.Fenced
	case errors.Is(err, fence.ErrRefused), errors.Is(err, fsguard.ErrStorageRefused):
		return exitcode.StorageRefused
	case errors.Is(err, restore.ErrRefused):
		return exitcode.RefusedConfig
	case errors.Is(err, restore.ErrRestoreFailed), errors.Is(err, restore.ErrNoBackup):
		return exitcode.RestoreFailed
	}
	// The child's command and user: supervise's own map (127, 126, 78), and
	// Internal for anything else.
	return supervise.ExitCodeOf(err)
}

// exitCodeHelp is appended to `zkfence help`.
const exitCodeHelp = `
EXIT CODES:
   0-255   the child's own exit code, when it exits by itself
   128+N   the child died of signal N (or zkfence was stopped by signal N before the child started)
   126     the command could not be executed
   127     the command was not found
   78      refused configuration: bad flags, an unsafe timing budget, or credentials/ACL ZooKeeper refuses; nothing was started
   90      lock lost: the ZooKeeper lease ended; the child was stopped
   91      mount lost: a guarded mount failed its live probe; the child was stopped
   92      fenced: the volume names a newer holder; the child was stopped
   93      storage refused before start (not a mount, fsck failed, ...)
   94      restore failed
   95      not released: something of this run may still write (child tree not confirmed dead, device
           not unmounted); the lock node and session were left to expire
   96      fencing failed: --fence-required and the previous holder could not be fenced; nothing started
   99      internal error
`
