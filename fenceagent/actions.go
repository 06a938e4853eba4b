package fenceagent

import (
	"context"
	"fmt"
	"time"
)

// Power is the state action=status reports.
type Power int

const (
	PowerUnknown Power = iota
	PowerOn            // status exit 0
	PowerOff           // status exit 2
)

func (p Power) String() string {
	switch p {
	case PowerOn:
		return "on"
	case PowerOff:
		return "off"
	}
	return "unknown"
}

// Off fences plug: action=off, then action=status until it exits 2 (off),
// at most ConfirmAttempts times, all within Timeout. It returns nil only
// for a confirmed fence; every error wraps ErrFenceFailed (and ErrInvalid,
// ErrTimeout, ErrNotConfirmed or ErrAgentFailed when that is why).
func (a *Agent) Off(ctx context.Context, plug string) (err error) {
	start := time.Now()
	defer func() { a.observe("off", start, err) }()
	if err := checkPlug(plug); err != nil {
		return fmt.Errorf("%w: %w", ErrFenceFailed, err)
	}
	ctx, cancel := a.withDeadline(ctx)
	defer cancel()
	a.log().Info("fencing", "plug", plug, "timeout", a.timeout())
	r, err := a.run(ctx, "off", plug, false)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrFenceFailed, plug, err)
	}
	if r.code != 0 {
		return fmt.Errorf("%w: %s: %w: action=off exited %d; %s",
			ErrFenceFailed, plug, ErrAgentFailed, r.code, lastLines(r.output, 5))
	}
	if err := a.confirmOff(ctx, plug); err != nil {
		return err
	}
	a.log().Info("fenced: confirmed off", "plug", plug, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// confirmOff asks for action=status until it says off.
func (a *Agent) confirmOff(ctx context.Context, plug string) error {
	var last error
	for i := 0; i < a.attempts(); i++ {
		if i > 0 {
			t := time.NewTimer(a.interval())
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("%w: %s: %w: %w (last: %w)", ErrFenceFailed, plug, ErrNotConfirmed, stopped(ctx, "status"), last)
			case <-t.C:
			}
		}
		p, err := a.status(ctx, plug)
		if p == PowerOff {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("status says %s", p)
		}
		last = err
		a.log().Warn("fence not confirmed yet", "plug", plug, "attempt", i+1, "err", err)
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("%w: %s: %w after %d status attempts: %w", ErrFenceFailed, plug, ErrNotConfirmed, a.attempts(), last)
}

// Status runs action=status for plug.
func (a *Agent) Status(ctx context.Context, plug string) (p Power, err error) {
	start := time.Now()
	defer func() { a.observe("status", start, err) }()
	if err := checkPlug(plug); err != nil {
		return PowerUnknown, err
	}
	ctx, cancel := a.withDeadline(ctx)
	defer cancel()
	return a.status(ctx, plug)
}

func (a *Agent) status(ctx context.Context, plug string) (Power, error) {
	r, err := a.run(ctx, "status", plug, false)
	if err != nil {
		return PowerUnknown, err
	}
	switch r.code {
	case 0:
		return PowerOn, nil
	case 2:
		return PowerOff, nil
	}
	return PowerUnknown, fmt.Errorf("%w: action=status for %s exited %d; %s", ErrAgentFailed, plug, r.code, lastLines(r.output, 5))
}

// On runs action=on for plug: unfencing, which agents that fence at the
// storage (fence_scsi, fence_mpath: their metadata marks on automatic="1")
// need for a node's own fence id before it uses the device.
func (a *Agent) On(ctx context.Context, plug string) (err error) {
	start := time.Now()
	defer func() { a.observe("on", start, err) }()
	if err := checkPlug(plug); err != nil {
		return err
	}
	return a.simple(ctx, "on", plug)
}

// Monitor runs action=monitor: the agent reaches its device, without
// fencing anything.
func (a *Agent) Monitor(ctx context.Context) (err error) {
	start := time.Now()
	defer func() { a.observe("monitor", start, err) }()
	return a.simple(ctx, "monitor", "")
}

// simple runs an action whose only success is exit 0.
func (a *Agent) simple(ctx context.Context, action, plug string) error {
	ctx, cancel := a.withDeadline(ctx)
	defer cancel()
	r, err := a.run(ctx, action, plug, false)
	if err != nil {
		return err
	}
	if r.code != 0 {
		return fmt.Errorf("%w: action=%s exited %d; %s", ErrAgentFailed, action, r.code, lastLines(r.output, 5))
	}
	a.log().Info("fence agent action done", "action", action, "plug", plug, "took", r.took.Round(time.Millisecond))
	return nil
}
