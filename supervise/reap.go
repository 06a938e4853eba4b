package supervise

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// safetyTick bounds how long a zombie waits if a SIGCHLD wake-up was lost:
// 1 s, tini's sigtimedwait timeout. It is the reaper's only periodic wake-up,
// so it is also what the wrapper costs when idle.
const safetyTick = time.Second

// BecomeSubreaper makes the wrapper a child subreaper (prctl
// PR_SET_CHILD_SUBREAPER) unless it is PID 1, which is one already: orphans
// of the child's tree are then reparented to the wrapper, which reaps them and
// can still stop them (S3). It is idempotent; Start calls it too.
func BecomeSubreaper() error {
	if os.Getpid() == 1 {
		return nil
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %w", err)
	}
	return nil
}

// reap is the reaper goroutine, the process's only wait4 caller while the
// Child is live (S1). It reaps on SIGCHLD and on the safety tick until Stop
// closes quit, then reaps once more and ends.
func (c *Child) reap() {
	defer close(c.reaperDone)
	defer signal.Stop(c.sigchld)
	tick := time.NewTicker(safetyTick)
	defer tick.Stop()
	for {
		if c.reapAll() && c.tty {
			_ = reclaimTTY(0) // best effort: the terminal may be gone
		}
		select {
		case <-c.sigchld:
		case <-tick.C:
		case <-c.quit:
			c.reapAll()
			return
		}
	}
}

// reapAll calls wait4(-1, WNOHANG) until no exited child is left, like tini:
// the main child's status is recorded and Done closed; the others are
// discarded. It reports whether it reaped the main child. c.mu is held across
// each wait4 so that no one signals a pid while it is being freed (S2).
func (c *Child) reapAll() (mainReaped bool) {
	for {
		var ws syscall.WaitStatus
		c.mu.Lock()
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == nil && pid == c.pid && !c.reaped {
			c.status, c.reaped = ws, true
			close(c.done)
			mainReaped = true
		}
		c.mu.Unlock()
		if err == syscall.EINTR {
			continue
		}
		if err != nil || pid <= 0 { // ECHILD: no children; 0: none has exited
			return mainReaped
		}
	}
}
