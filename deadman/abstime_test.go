package deadman

import (
	"math"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func boottime(t *testing.T) time.Duration {
	t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ts.Nano())
}

// expiry returns the armed timer's expiry on CLOCK_BOOTTIME, as read with
// timer_gettime (which reports the time left) between two clock reads less
// than a millisecond apart: the expiry is at most a millisecond after it.
func expiry(t *testing.T, s *Switch) time.Duration {
	t.Helper()
	for i := 0; i < 100; i++ {
		before := boottime(t)
		var cur unix.ItimerSpec
		_, _, errno := unix.Syscall(unix.SYS_TIMER_GETTIME, uintptr(s.id), uintptr(unsafe.Pointer(&cur)), 0)
		if errno != 0 {
			t.Fatalf("timer_gettime: %v", errno)
		}
		if cur.Value.Nano() == 0 {
			t.Fatal("the timer is not armed")
		}
		if boottime(t)-before < time.Millisecond {
			return before + time.Duration(cur.Value.Nano())
		}
	}
	t.Fatal("could not read the timer within a millisecond in 100 tries")
	return 0
}

// TestPreemptionBeforeSettimeDoesNotDelayTheTimer is D1 under a preemption
// (or a freeze) between the moment the timer's value is computed and the
// moment timer_settime takes it: the timer must still expire no later than
// the deadline. A timer set relative to a time.Until taken before the pause
// would expire the length of the pause too late.
func TestPreemptionBeforeSettimeDoesNotDelayTheTimer(t *testing.T) {
	const pause = 300 * time.Millisecond
	sw, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer sw.Close()
	// The boot time of the deadline is at least boot + (deadline - now),
	// boot read first: the deadline is 20 s away, so the timer (which would
	// kill this test process) is disarmed long before it fires.
	boot := boottime(t)
	now := time.Now()
	deadline := now.Add(20 * time.Second)
	deadlineBoot := boot + deadline.Sub(now)

	beforeSettime = func() { time.Sleep(pause) }
	defer func() { beforeSettime = func() {} }()
	for _, step := range []struct {
		name string
		set  func() error
	}{
		{"Arm", func() error { return sw.Arm(func() time.Time { return deadline }) }},
		{"Renewed", sw.Renewed},
	} {
		if err := step.set(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		// Both sides read the two clocks one after the other: their gaps
		// differ by microseconds on a loaded machine. The defect is a
		// whole preemption late (300 ms); 1 ms tells them apart.
		if late := expiry(t, sw) - deadlineBoot; late > time.Millisecond {
			t.Errorf("%s, preempted %s before timer_settime: the timer expires %s after the deadline", step.name, pause, late)
		}
	}
	if err := sw.Disarm(); err != nil {
		t.Fatal(err)
	}
}

// TestAddClamped is D2 and the overflow bound of the conversion: a deadline
// past by any amount becomes an absolute time already past but never zero
// (which would disarm), and one too far away saturates instead of wrapping
// around into the past or into an invalid timespec.
func TestAddClamped(t *testing.T) {
	const s = int64(time.Second)
	for _, tc := range []struct {
		name string
		boot int64
		d    time.Duration
		want int64
	}{
		{"ahead", 5 * s, time.Second, 6 * s},
		{"just past", 5 * s, -time.Second, 4 * s},
		{"past by more than the uptime", 5 * s, -10 * time.Second, 1},
		{"exactly boot time zero", 5 * s, -5 * time.Second, 1},
		{"the zero time.Time", 5 * s, time.Time{}.Sub(time.Now()), 1},
		{"as far as Duration goes", 5 * s, time.Duration(math.MaxInt64), math.MaxInt64},
		{"as far back as Duration goes", 5 * s, time.Duration(math.MinInt64), 1},
	} {
		got := addClamped(tc.boot, tc.d)
		if got.Nano() != tc.want || got.Sec < 0 || got.Nsec < 0 || got.Nsec >= 1e9 {
			t.Errorf("%s: addClamped(%d, %d) = %+v, want %d ns", tc.name, tc.boot, tc.d, got, tc.want)
		}
	}
}

// TestBoottimeAtIsOnTheBootClock checks the conversion against the clock: a
// deadline 10 s away lands 10 s after CLOCK_BOOTTIME as read around the
// conversion, within the time the reads took.
func TestBoottimeAtIsOnTheBootClock(t *testing.T) {
	before := boottime(t)
	now := time.Now()
	abs, err := boottimeAt(now.Add(10 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	slack := boottime(t) - before
	if off := time.Duration(abs.Nano()) - (before + 10*time.Second); off > slack || off < -slack {
		t.Fatalf("a deadline 10 s away converted to %s past the boot clock +10 s; the reads took %s", off, slack)
	}
}
