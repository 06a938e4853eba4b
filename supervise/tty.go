package supervise

import (
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// foregroundTTY reports whether fd is a terminal whose foreground process
// group is the wrapper's own: only then is there a terminal to hand over. A
// wrapper started in the background, or whose stdin is a terminal that is not
// its controlling terminal, leaves the terminal alone.
func foregroundTTY(fd int) bool {
	pgrp, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}

// reclaimTTY makes the wrapper's group the foreground group of fd again, as a
// shell does when a job ends, so that the wrapper's own writes and the
// terminal's Ctrl-C reach it. tcsetpgrp from a background group raises SIGTTOU
// unless it is blocked, so it is blocked on this (locked) thread meanwhile.
func reclaimTTY(fd int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var block, old unix.Sigset_t
	block.Val[0] = 1 << (uint(syscall.SIGTTOU) - 1)
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &block, &old); err != nil {
		return err
	}
	defer unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
	return unix.IoctlSetPointerInt(fd, unix.TIOCSPGRP, unix.Getpgrp())
}
