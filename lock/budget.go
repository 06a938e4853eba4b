package lock

import (
	"errors"
	"fmt"
	"time"
)

// ErrUnsafeBudget is wrapped by every error that refuses a timing configuration.
var ErrUnsafeBudget = errors.New("unsafe timing budget")

// Budget holds the inputs of DESIGN.md's timing budget. All durations are
// positive; ClockDrift is a fraction (0.01 for 1%).
type Budget struct {
	SessionTimeout time.Duration // T: the NEGOTIATED session timeout once connected
	TickTime       time.Duration // the ensemble's tickTime
	SyncLimit      int           // the ensemble's syncLimit, in ticks
	Heartbeat      time.Duration // h: how often the lease is renewed
	ClockDrift     float64       // rho: the allowed clock rate error
	StopTime       time.Duration // K: stop grace plus kill confirmation
}

// FollowerWindow is G = syncLimit*tickTime + tickTime/2 + h: how long a client
// connected to a follower cut off from the leader may still get answers after
// the leader stopped hearing of its session.
func (b Budget) FollowerWindow() time.Duration {
	return time.Duration(b.SyncLimit)*b.TickTime + b.TickTime/2 + b.Heartbeat
}

// KillBy is D_kill - t_s = (1-rho)T - (1+rho)G - K: how long after the send
// time of the last successful renewal the child must be confirmed dead. It is
// K before the earliest instant ZooKeeper could grant the lock to anyone else.
func (b Budget) KillBy() time.Duration {
	t := scale(b.SessionTimeout, 1-b.ClockDrift)
	g := scale(b.FollowerWindow(), 1+b.ClockDrift)
	return t - g - b.StopTime
}

// StopAfter is when, after t_s, the stop of the child must begin so that it is
// confirmed dead by KillBy: KillBy - K.
func (b Budget) StopAfter() time.Duration { return b.KillBy() - b.StopTime }

// MinStopAfter is the smallest StopAfter that is accepted: two heartbeats, so
// that one slow or lost renewal alone never kills a healthy child.
func (b Budget) MinStopAfter() time.Duration { return 2 * b.Heartbeat }

// Validate refuses inputs that are out of range and budgets too small to be
// safe. Its message shows the arithmetic, so an operator can see which knob to
// turn.
func (b Budget) Validate() error {
	switch {
	case b.SessionTimeout <= 0 || b.TickTime <= 0 || b.Heartbeat <= 0 || b.StopTime <= 0:
		return fmt.Errorf("%w: session timeout, tick time, heartbeat and stop time must be positive", ErrUnsafeBudget)
	case b.SyncLimit < 1:
		return fmt.Errorf("%w: sync limit must be at least 1, got %d", ErrUnsafeBudget, b.SyncLimit)
	case b.ClockDrift < 0 || b.ClockDrift >= 0.5:
		return fmt.Errorf("%w: clock drift must be in [0, 0.5), got %g", ErrUnsafeBudget, b.ClockDrift)
	}
	if b.StopAfter() < b.MinStopAfter() {
		return fmt.Errorf("%w: %s; the stop would begin %s after the last renewal, "+
			"less than two heartbeats (%s): raise the session timeout or lower the stop grace, heartbeat or sync limit",
			ErrUnsafeBudget, b.Arithmetic(), round(b.StopAfter()), round(b.MinStopAfter()))
	}
	return nil
}

// Arithmetic spells out the budget with the numbers in it.
func (b Budget) Arithmetic() string {
	return fmt.Sprintf("G = syncLimit %d x tickTime %s + tickTime/2 + heartbeat %s = %s; "+
		"D_kill - t_s = (1-%g) x T %s - (1+%g) x G - K %s = %s",
		b.SyncLimit, round(b.TickTime), round(b.Heartbeat), round(b.FollowerWindow()),
		b.ClockDrift, round(b.SessionTimeout), b.ClockDrift, round(b.StopTime), round(b.KillBy()))
}

func scale(d time.Duration, f float64) time.Duration { return time.Duration(float64(d) * f) }

func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
