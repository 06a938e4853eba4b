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
//     was at the latest Arm or Renewed call. The timer is set at an absolute
//     CLOCK_BOOTTIME time (TIMER_ABSTIME), boot0 + (deadline - now1), with
//     CLOCK_BOOTTIME read before time.Now: a delay between the two reads
//     makes the expiry earlier, and a delay between the conversion and
//     timer_settime (a preemption, a freeze) changes nothing. CLOCK_BOOTTIME
//     advances at least as fast as the monotonic clock the lease measures on
//     (it also counts a system suspend), so the timer fires no later than the
//     lease deadline.
//   - D2 A deadline already past fires at once: it is set to an absolute
//     time already past (at least 1 ns), never to zero, which would disarm
//     the timer.
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
	"math"
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

// beforeSettime runs between computing the timer's value and setting it:
// tests put a delay there to stand for a preemption.
var beforeSettime = func() {}

func (s *Switch) setLocked(at time.Time) error {
	abs, err := boottimeAt(at)
	if err != nil {
		return err
	}
	beforeSettime()
	return s.settime(unix.ItimerSpec{Value: abs}, unix.TIMER_ABSTIME)
}

// boottimeAt converts deadline, a time of Go's clock (monotonic when it has
// a monotonic reading), to an absolute CLOCK_BOOTTIME time for timer_settime
// with TIMER_ABSTIME. It reads CLOCK_BOOTTIME first and time.Now second and
// returns boot0 + (deadline - now1): time that passes between the two reads
// (a preemption, a freeze) makes the result earlier, never later, and once
// converted nothing can delay it any more, since the value is absolute (D1).
func boottimeAt(deadline time.Time) (unix.Timespec, error) {
	var boot0 unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &boot0); err != nil {
		return unix.Timespec{}, fmt.Errorf("clock_gettime(CLOCK_BOOTTIME): %w", err)
	}
	return addClamped(boot0.Nano(), deadline.Sub(time.Now())), nil
}

// addClamped returns boot + d as a timespec, without overflow, and never
// below 1 ns: an absolute time already past makes the timer fire at once,
// while zero would disarm it (D2).
func addClamped(boot int64, d time.Duration) unix.Timespec {
	abs := int64(1)
	switch {
	case d > 0 && boot > math.MaxInt64-int64(d):
		abs = math.MaxInt64
	case boot+int64(d) > 1:
		abs = boot + int64(d)
	}
	return unix.NsecToTimespec(abs)
}

func (s *Switch) settime(spec unix.ItimerSpec, flags int) error {
	_, _, errno := unix.Syscall6(unix.SYS_TIMER_SETTIME, uintptr(s.id), uintptr(flags),
		uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
	if errno != 0 {
		return fmt.Errorf("timer_settime: %w", errno)
	}
	return nil
}
