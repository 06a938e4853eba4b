package fence

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/zkfence/zkfence/internal/clock"
)

// Claim says who we are and what the operator allows.
type Claim struct {
	Service   string        // our lock path
	Token     int64         // our fencing token (the lock node's czxid)
	Holder    string        // who we are, for the record
	LockDelay time.Duration // how old the previous holder's heartbeat must be
	// Fenced is the token of the previous holder that a fence agent
	// confirmed off (0: none): a record with that token needs no
	// lock-delay. A record of any other holder still does.
	Fenced int64
	// FencedHolders are holders named by volumes' records rather than by
	// ZooKeeper, each confirmed off: a record needs no lock-delay when its
	// token AND its holder (Record.Holder) are one of them. Their token
	// alone vouches for nothing: a record on one volume must not lift the
	// lock-delay of another volume's holder.
	FencedHolders []FencedHolder
	// ClaimNew allows writing a first record on a volume that has none.
	ClaimNew bool
	// TakeOver allows taking a volume that belongs to another service.
	TakeOver bool
	// IOTimeout bounds each of the keeper's beats (read back, write,
	// fsyncs) on one volume; 0 means DefaultIOTimeout.
	IOTimeout time.Duration
}

// DefaultIOTimeout bounds a beat when Claim.IOTimeout is 0. It is the
// mount probe's default timeout (fsguard.DefaultProbeTimeout): a record
// that does not answer for that long is a volume that does not answer.
const DefaultIOTimeout = 10 * time.Second

func (c Claim) ioTimeout() time.Duration {
	if c.IOTimeout <= 0 {
		return DefaultIOTimeout
	}
	return c.IOTimeout
}

// Acquire takes the volume at root for c, with the lock held: it checks
// ownership and token order, waits out a live-looking previous holder, and
// writes our token. Only after it returns nil may the child start.
func Acquire(ctx context.Context, root string, c Claim, clk clock.Clock, log *slog.Logger) error {
	for {
		prev, err := Read(root)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if !c.ClaimNew {
				return fmt.Errorf("%w: %s has no fence record: it has never been used by zkfence; "+
					"pass --claim-volume to claim it for %s", ErrRefused, root, c.Service)
			}
			log.Info("claiming a new volume", "volume", root, "service", c.Service)
			return writeIfHeld(ctx, root, c, clk)
		case err != nil:
			return fmt.Errorf("%w: %v", ErrRefused, err)
		}
		if err := checkOwner(root, prev, c, log); err != nil {
			return err
		}
		if prev.Token > c.Token {
			return fmt.Errorf("%w: %s holds token %d, newer than ours (%d): ZooKeeper's state was reset or rolled "+
				"back, or another ensemble guards this volume; refusing to start", ErrFenced, root, prev.Token, c.Token)
		}
		wait := remaining(prev, c, clk.Now())
		if wait <= 0 {
			return writeIfHeld(ctx, root, c, clk)
		}
		log.Warn("previous holder's heartbeat is recent; waiting out the lock-delay", "volume", root,
			"previous_token", prev.Token, "previous_holder", prev.Holder, "remaining", wait.Round(time.Millisecond))
		t := clk.NewTimer(wait)
		select {
		case <-t.C():
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		// Read again: a previous holder still beating resets the wait.
	}
}

// checkOwner enforces volume ownership.
func checkOwner(root string, prev Record, c Claim, log *slog.Logger) error {
	if prev.Service == c.Service {
		return nil
	}
	if !c.TakeOver {
		return fmt.Errorf("%w: %s belongs to service %s, not %s; pass --take-over-volume if you really mean to move it",
			ErrRefused, root, prev.Service, c.Service)
	}
	log.Warn("taking over a volume from another service", "volume", root, "from", prev.Service, "to", c.Service)
	return nil
}

// FencedHolder is a holder confirmed off, as its records name it.
type FencedHolder struct {
	Token  int64
	Holder string
}

// fenced reports whether prev is the record of a holder confirmed off.
func (c Claim) fenced(prev Record) bool {
	for _, f := range c.FencedHolders {
		if prev.Token == f.Token && prev.Holder == f.Holder {
			return true
		}
	}
	return c.Fenced != 0 && prev.Token == c.Fenced
}

// remaining is how long to wait before the previous holder counts as gone.
// A heartbeat from the future (clock skew) counts as brand new.
func remaining(prev Record, c Claim, now time.Time) time.Duration {
	if prev.Released || prev.Token == c.Token || c.fenced(prev) {
		return 0
	}
	age := now.Sub(prev.Heartbeat)
	if age < 0 {
		age = 0
	}
	return c.LockDelay - age
}

// writeIfHeld writes our record unless ctx (the lock) ended meanwhile: a
// read that stalled on the volume may return long after the lease, and a
// caller that gave up on it may already have let go of the lock.
func writeIfHeld(ctx context.Context, root string, c Claim, clk clock.Clock) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("not writing the fence record on %s: %w", root, context.Cause(ctx))
	}
	return write(root, c, clk)
}

func write(root string, c Claim, clk clock.Clock) error {
	r := Record{Service: c.Service, Token: c.Token, Holder: c.Holder, Heartbeat: clk.Now().UTC()}
	if err := Write(root, r); err != nil {
		return fmt.Errorf("%w: %v", ErrRefused, err)
	}
	return nil
}
