// Package deadman is the kernel's half of the lease: a POSIX timer that
// SIGKILLs this process at the lease's kill deadline unless a renewal moved
// the deadline first.
//
// Why it exists: the wrapper acts on an overdue lease only when it runs. A
// wrapper frozen together with its child (docker pause, a cgroup freeze of
// the whole container, a stopped process group) cannot act before the thaw,
// and at the thaw its child runs again at the same instant, while another
// node may already hold the lock and run its own child on the same data
// (DESIGN.md, I1 and I3). A kernel timer does not need the wrapper to run:
// it fires at the deadline and SIGKILLs the wrapper. The run pipeline starts
// the child as the init of a PID namespace of its own with PR_SET_PDEATHSIG
// SIGKILL, so the wrapper's death kills that init, and the init's death
// makes the kernel SIGKILL every process of the namespace: the whole tree,
// daemonized grandchildren included, with no user-space code in the path.
//
// # Invariants
//
//   - D1 While armed, the timer's expiry is never later than deadline() as it
//     was at the latest Arm or Renewed call. It is set at an absolute time on
//     CLOCK_BOOTTIME (TIMER_ABSTIME), which advances at least as fast as the
//     monotonic clock the lease measures on (it also counts a system
//     suspend), read before the monotonic clock: a freeze or a preemption
//     anywhere before the timer_settime call can only make it earlier.
//   - D2 A deadline already past fires at once: it is never taken for zero,
//     which would disarm the timer.
//   - D3 Only Disarm stops the timer; the caller disarms only once the child
//     tree is confirmed dead. A renewal never moves the deadline earlier
//     than the lease says, and never later.
//
// # What the kernel does with the signal
//
// A SIGKILL from the process's own timer is dropped when the process is the
// init of its PID namespace (the kernel protects a namespace's init from
// signals sent from inside it): New refuses to work as PID 1, and zkfence
// then runs itself under a minimal init. Under the cgroup v2 freezer a
// frozen process that gets SIGKILL dies while frozen, so the tree is gone at
// the deadline, before anyone else can take the lock. Under the cgroup v1
// freezer a frozen process cannot exit before the thaw: the signal waits,
// the wrapper dies at the thaw without running user-space code, and the
// child's namespace is killed microseconds later, while the child has
// thawed too (see the README and `make bench` for the measured window).
package deadman

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrNamespaceInit is returned by New in the init of a PID namespace, where
// the kernel would drop the timer's SIGKILL.
var ErrNamespaceInit = errors.New("the init of a PID namespace (PID 1) cannot be killed by its own timer")

// Switch is one armed-or-not kernel timer that SIGKILLs this process.
// Its methods may be called from any goroutine.
type Switch struct {
	mu       sync.Mutex
	id       int32
	closed   bool
	deadline func() time.Time // nil while disarmed
}

// sigevent is struct sigevent of <signal.h> on Linux (64 bytes), with
// sigev_notify SIGEV_SIGNAL (0).
type sigevent struct {
	value  uint64
	signo  int32
	notify int32
	_      [12]int32
}

// New creates the timer (disarmed). It fails in the init of a PID namespace.
func New() (*Switch, error) {
	if os.Getpid() == 1 {
		return nil, ErrNamespaceInit
	}
	ev := sigevent{signo: int32(syscall.SIGKILL)}
	var id int32
	_, _, errno := unix.Syscall(unix.SYS_TIMER_CREATE, unix.CLOCK_BOOTTIME,
		uintptr(unsafe.Pointer(&ev)), uintptr(unsafe.Pointer(&id)))
	if errno != 0 {
		return nil, fmt.Errorf("timer_create(CLOCK_BOOTTIME, SIGKILL): %w", errno)
	}
	return &Switch{id: id}, nil
}

// Arm sets the timer to deadline() and keeps deadline for Renewed. deadline
// must return times of the real clock (time.Now), such as a lease's KillBy.
func (s *Switch) Arm(deadline func() time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("deadman: switch closed")
	}
	s.deadline = deadline
	return s.setLocked(deadline())
}

// Renewed moves the timer to deadline() again, when armed: call it after
// every lease renewal. An error means the timer could not be moved; it still
// fires at the previous, earlier deadline (D3), so the caller may only log it.
func (s *Switch) Renewed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.deadline == nil {
		return nil
	}
	return s.setLocked(s.deadline())
}

// Disarm stops the timer. Call it only once the child tree is confirmed dead.
func (s *Switch) Disarm() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.deadline == nil {
		return nil
	}
	s.deadline = nil
	return s.settime(unix.ItimerSpec{}, 0)
}

// Close disarms and deletes the timer.
func (s *Switch) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed, s.deadline = true, nil
	_, _, errno := unix.Syscall(unix.SYS_TIMER_DELETE, uintptr(s.id), 0, 0)
	if errno != 0 {
		return fmt.Errorf("timer_delete: %w", errno)
	}
	return nil
}

// setLocked sets the timer to expire at the CLOCK_BOOTTIME instant that
// corresponds to at, as an absolute time (TIMER_ABSTIME): a freeze or a
// preemption before the timer_settime call cannot push the expiry later,
// and an expiry that passed meanwhile fires at once. CLOCK_BOOTTIME is read
// BEFORE the monotonic clock (time.Until), so a stall between the two reads
// makes the expiry earlier, never later.
func (s *Switch) setLocked(at time.Time) error {
	var now unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &now); err != nil {
		return fmt.Errorf("clock_gettime(CLOCK_BOOTTIME): %w", err)
	}
	d := time.Until(at)
	if d < 0 {
		d = 0 // an instant already past: fires at once (D2; now is never zero)
	}
	expiry := unix.NsecToTimespec(now.Nano() + int64(d))
	if testHookBeforeSettime != nil {
		testHookBeforeSettime()
	}
	return s.settime(unix.ItimerSpec{Value: expiry}, unix.TIMER_ABSTIME)
}

// testHookBeforeSettime, if set, runs between the reading of the clock and
// the timer_settime call: a stand-in for a preemption or a freeze there.
var testHookBeforeSettime func()

func (s *Switch) settime(spec unix.ItimerSpec, flags int) error {
	_, _, errno := unix.Syscall6(unix.SYS_TIMER_SETTIME, uintptr(s.id), uintptr(flags),
		uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
	if errno != 0 {
		return fmt.Errorf("timer_settime: %w", errno)
	}
	return nil
}
