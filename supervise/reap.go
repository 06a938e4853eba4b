package supervise

import (
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"
	"unsafe"

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

// reap is the reaper goroutine, the only one to wait for the tree's processes
// while the Child is live (S1). It reaps on SIGCHLD and on the safety tick
// until Stop closes quit, then reaps once more and ends.
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

// reapAll reaps every exited child of the wrapper that belongs to the tree,
// and leaves the helpers' to their own Wait (S1, S3). It peeks at the next
// exited child with waitid(WNOWAIT), which leaves it waitable, and reaps it
// with wait4(pid) unless it is a helper. The peek keeps showing a helper's
// zombie until its Wait reaps it, so when it shows a pid a second time the
// children are reaped by pid from a scan instead (reapPast). The main child's
// status is recorded and Done closed; the others are discarded. It reports
// whether it reaped the main child.
func (c *Child) reapAll() (mainReaped bool) {
	var seen []int
	for {
		pid, err := waitable()
		if err == syscall.EINTR {
			continue
		}
		if err != nil || pid == 0 { // ECHILD: no children; 0: none has exited
			return mainReaped
		}
		if slices.Contains(seen, pid) { // a helper's zombie, still there
			return c.reapPast() || mainReaped
		}
		seen = append(seen, pid)
		if !c.classifier().isPid(pid) {
			mainReaped = c.reapPid(pid) || mainReaped
		}
	}
}

// reapPast reaps by pid every child of the wrapper that is not a helper: it
// looks past a helper's zombie, which the peek keeps showing until the
// helper's own Wait reaps it. It costs a scan of the process table, and runs
// only while a helper's zombie is there (usually a few microseconds: os/exec's
// Wait is typically already blocked on the helper's pidfd when it exits).
func (c *Child) reapPast() (mainReaped bool) {
	procs, err := listProcs()
	if err != nil {
		return false
	}
	k := c.classifier()
	self := os.Getpid()
	for _, p := range procs {
		if p.ppid == self && !k.is(p) {
			mainReaped = c.reapPid(p.pid) || mainReaped
		}
	}
	return mainReaped
}

// reapPid reaps pid if it has exited (wait4(pid, WNOHANG)) and reports
// whether it reaped the main child, whose status it records before closing
// Done. c.mu is held across the wait4 so that no one signals a pid while it
// is being freed (S2).
func (c *Child) reapPid(pid int) (main bool) {
	var ws syscall.WaitStatus
	c.mu.Lock()
	defer c.mu.Unlock()
	got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
	for err == syscall.EINTR {
		got, err = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
	}
	if err != nil || got != pid || pid != c.pid || c.reaped {
		return false
	}
	c.status, c.reaped = ws, true
	close(c.done)
	return true
}

// siginfo is the kernel's siginfo_t, 128 bytes: three ints, then a union
// aligned like a pointer whose first member, for a child's exit, is si_pid.
type siginfo struct {
	signo, errno, code int32
	fields             [(128 - 12) / unsafe.Sizeof(uintptr(0))]uintptr
}

// siginfo must be exactly 128 bytes: each of these fails to compile otherwise.
var (
	_ [unsafe.Sizeof(siginfo{}) - 128]byte
	_ [128 - unsafe.Sizeof(siginfo{})]byte
)

// waitable peeks at the wrapper's exited children: it returns the pid of one
// of them (0 when none has exited) and leaves it waitable
// (waitid(P_ALL, WEXITED|WNOHANG|WNOWAIT)). ECHILD: no children at all.
func waitable() (int, error) {
	var si siginfo
	err := unix.Waitid(unix.P_ALL, 0, (*unix.Siginfo)(unsafe.Pointer(&si)), unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	if err != nil {
		return 0, err
	}
	return int(*(*int32)(unsafe.Pointer(&si.fields[0]))), nil
}
