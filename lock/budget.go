package lock

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrUnsafeBudget is wrapped by every error that refuses a timing configuration.
var ErrUnsafeBudget = errors.New("unsafe timing budget")

// Budget holds the inputs of DESIGN.md's timing budget. All durations are
// positive; ClockDrift is a fraction (0.01 for 1%).
//
// Every input is bounded (see the limits below) and the arithmetic
// saturates instead of wrapping, so no input, however large, can turn the
// budget into a negative G or a deadline in the millions of hours: a budget
// is valid only when 2h <= StopAfter < KillBy < T.
type Budget struct {
	SessionTimeout time.Duration // T: the NEGOTIATED session timeout once connected
	TickTime       time.Duration // the ensemble's tickTime
	SyncLimit      int           // the ensemble's syncLimit, in ticks
	Heartbeat      time.Duration // h: how often the lease is renewed
	ClockDrift     float64       // rho: the allowed clock rate error
	StopTime       time.Duration // K: stop grace plus kill confirmation
}

// Limits of the budget's inputs: what ZooKeeper and an operator can mean.
// They are far from int64 nanoseconds (292 years), so the arithmetic never
// comes near an overflow even before it saturates.
const (
	// MaxSessionTimeout: ZooKeeper carries the timeout in int32 ms (24.8
	// days); a lease of more than an hour is a fence that takes more than an
	// hour to act, which nobody means.
	MaxSessionTimeout = time.Hour
	// MinTickTime and MaxTickTime: ZooKeeper counts tickTime in whole
	// milliseconds; its sample uses 2 s and nobody runs ticks of minutes.
	MinTickTime = time.Millisecond
	MaxTickTime = time.Minute
	// MaxSyncLimit: zoo.cfg samples use 5 to 10 ticks.
	MaxSyncLimit = 1000
	// MinHeartbeat: below 10 ms the lease renews faster than a ZooKeeper
	// round trip on loopback and burns a CPU doing it (1 ns took 5.9
	// CPU-seconds in 3.5 s); it also bounds the renewal load on the ensemble.
	MinHeartbeat = 10 * time.Millisecond
	MaxHeartbeat = time.Minute
	// MaxStopTime bounds K (the stop grace plus the kill confirmation).
	MaxStopTime = time.Hour
	// MaxClockDrift: a clock that may run 50% off is no clock.
	MaxClockDrift = 0.5
)

// FollowerWindow is G = syncLimit*tickTime + tickTime/2 + h: how long a client
// connected to a follower cut off from the leader may still get answers after
// the leader stopped hearing of its session. It saturates at the largest
// duration rather than wrap.
func (b Budget) FollowerWindow() time.Duration {
	g := satMul(b.TickTime, int64(b.SyncLimit))
	return satAdd(satAdd(g, b.TickTime/2), b.Heartbeat)
}

// KillAfter is D_kill - t_s = (1-rho)T - (1+rho)G - K: how long after the send
// time of the last successful renewal the child must be confirmed dead. It is
// K before the earliest instant ZooKeeper could grant the lock to anyone else.
func (b Budget) KillAfter() time.Duration {
	t := scale(b.SessionTimeout, 1-b.ClockDrift)
	g := scale(b.FollowerWindow(), 1+b.ClockDrift)
	return satSub(satSub(t, g), b.StopTime)
}

// StopAfter is when, after t_s, the stop of the child must begin so that it is
// confirmed dead by KillBy: KillBy - K.
func (b Budget) StopAfter() time.Duration { return satSub(b.KillAfter(), b.StopTime) }

// MinStopAfter is the smallest StopAfter that is accepted: two heartbeats, so
// that one slow or lost renewal alone never kills a healthy child.
func (b Budget) MinStopAfter() time.Duration { return satMul(b.Heartbeat, 2) }

// Validate refuses inputs that are out of range and budgets too small to be
// safe. Its message shows the arithmetic, so an operator can see which knob to
// turn. A lease must not be built on a budget Validate refuses.
func (b Budget) Validate() error {
	if err := b.validateInputs(); err != nil {
		return fmt.Errorf("%w: %v", ErrUnsafeBudget, err)
	}
	kill, stop := b.KillAfter(), b.StopAfter()
	switch {
	case kill <= 0 || kill >= b.SessionTimeout:
		return fmt.Errorf("%w: %s: the child must be dead after a positive time smaller than T: "+
			"raise the session timeout or lower the stop grace, heartbeat or sync limit", ErrUnsafeBudget, b.Arithmetic())
	case stop < b.MinStopAfter():
		return fmt.Errorf("%w: %s; the stop would begin %s after the last renewal, "+
			"less than two heartbeats (%s): raise the session timeout or lower the stop grace, heartbeat or sync limit",
			ErrUnsafeBudget, b.Arithmetic(), round(stop), round(b.MinStopAfter()))
	}
	return nil
}

// validateInputs checks every input against its limits.
func (b Budget) validateInputs() error {
	switch {
	case b.SessionTimeout <= 0 || b.TickTime <= 0 || b.Heartbeat <= 0 || b.StopTime <= 0:
		return errors.New("session timeout, tick time, heartbeat and stop time must be positive")
	case b.SessionTimeout > MaxSessionTimeout:
		return fmt.Errorf("session timeout %s is above %s", b.SessionTimeout, MaxSessionTimeout)
	case b.TickTime < MinTickTime || b.TickTime > MaxTickTime:
		return fmt.Errorf("tick time %s is outside [%s, %s]", b.TickTime, MinTickTime, MaxTickTime)
	case b.SyncLimit < 1 || b.SyncLimit > MaxSyncLimit:
		return fmt.Errorf("sync limit must be in [1, %d] ticks, got %d", MaxSyncLimit, b.SyncLimit)
	case b.Heartbeat < MinHeartbeat || b.Heartbeat > MaxHeartbeat:
		return fmt.Errorf("heartbeat %s is outside [%s, %s]", b.Heartbeat, MinHeartbeat, MaxHeartbeat)
	case b.StopTime > MaxStopTime:
		return fmt.Errorf("stop time K %s (stop grace plus kill confirmation) is above %s", b.StopTime, MaxStopTime)
	case !(b.ClockDrift >= 0 && b.ClockDrift < MaxClockDrift): // also refuses NaN
		return fmt.Errorf("clock drift must be in [0, %g), got %g", MaxClockDrift, b.ClockDrift)
	}
	return nil
}

// Arithmetic spells out the budget with the numbers in it.
func (b Budget) Arithmetic() string {
	return fmt.Sprintf("G = syncLimit %d x tickTime %s + tickTime/2 + heartbeat %s = %s; "+
		"D_kill - t_s = (1-%g) x T %s - (1+%g) x G - K %s = %s",
		b.SyncLimit, round(b.TickTime), round(b.Heartbeat), round(b.FollowerWindow()),
		b.ClockDrift, round(b.SessionTimeout), b.ClockDrift, round(b.StopTime), round(b.KillAfter()))
}

// Saturating duration arithmetic: results clamp to the largest or smallest
// duration instead of wrapping around.
const (
	maxDuration = time.Duration(math.MaxInt64)
	minDuration = time.Duration(math.MinInt64)
)

func satAdd(a, b time.Duration) time.Duration {
	s := a + b
	switch {
	case a > 0 && b > 0 && s < 0:
		return maxDuration
	case a < 0 && b < 0 && s >= 0:
		return minDuration
	}
	return s
}

func satSub(a, b time.Duration) time.Duration {
	if b == minDuration {
		return satAdd(satAdd(a, maxDuration), 1)
	}
	return satAdd(a, -b)
}

func satMul(d time.Duration, n int64) time.Duration {
	if d == 0 || n == 0 {
		return 0
	}
	p := d * time.Duration(n)
	if p/time.Duration(n) != d || (n == -1 && d == minDuration) {
		if (d > 0) == (n > 0) {
			return maxDuration
		}
		return minDuration
	}
	return p
}

// scale multiplies d by f, clamping to the duration range (NaN gives 0;
// Validate refuses a NaN drift before anything is scaled by it).
func scale(d time.Duration, f float64) time.Duration {
	x := float64(d) * f
	switch {
	case math.IsNaN(x):
		return 0
	case x >= math.MaxInt64:
		return maxDuration
	case x <= math.MinInt64:
		return minDuration
	}
	return time.Duration(x)
}

func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
