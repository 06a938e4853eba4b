package runner

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/zkfence/zkfence/health"
	"github.com/zkfence/zkfence/internal/clock"
	"github.com/zkfence/zkfence/lock"
	"github.com/zkfence/zkfence/supervise"
)

// Config is everything a run needs; the command line builds it from flags.
type Config struct {
	ZK       lock.SessionConfig
	LockPath string
	// Budget holds the configured timings; its SessionTimeout is the
	// requested one and is replaced by the negotiated one once connected.
	// StopTime is derived: StopGrace + supervise.KillWait.
	Budget     lock.Budget
	StopSignal syscall.Signal
	StopGrace  time.Duration
	SignalMap  supervise.SignalMap
	Command    []string
	User       string
	Group      string
	Version    string

	// Optional phases, in the order they run with the lock held.
	Storage  Storage      // nil: no guarded storage
	Fence    *FenceConfig // nil: no fence record (needs Storage)
	Restorer Restorer     // nil: no restore
	Backups  Backups      // nil: no scheduled backups

	// FenceID is this node's name for a fence agent, recorded in the fence
	// state and the lock node so that the next holder can fence it.
	FenceID string
	// Fencer, if set, fences a previous holder that did not release
	// cleanly before anything touches storage; FenceRequired refuses the
	// start when that fails (otherwise the lock-delay is waited out).
	Fencer        Fencer
	FenceRequired bool
	// FencePeers, if not nil, are the fence ids the agent may be asked to
	// fence: this service's nodes (--fence-peers). A fence id read from a
	// volume's fence record is fenced only when listed here (nil: never),
	// since whoever can write that record as zkfence's user would choose
	// whom root fences; one from ZooKeeper (written by holders with its
	// credentials) must be listed only when the list is given. An id that
	// is not listed is a fence that failed (FenceRequired refuses).
	FencePeers []string
	// Attach, if set, attaches the device under the lock (see Attach).
	Attach *Attach
	// FastTakeover, if set (it needs Fencer), lets this run, as the first
	// waiter, fence a holder that stopped answering and take over before
	// its session expires. Advertise is where other nodes reach this
	// run's health endpoint, published in the lock node for their probes.
	FastTakeover *FastTakeover
	Advertise    string

	// FreezeGuard, if set, has the kernel kill the child's tree at the
	// lease deadline even when this process cannot run (needs the real
	// clock: its deadlines are read by the kernel).
	FreezeGuard *FreezeGuard

	Health *health.State // nil: no health reporting
	Logger *slog.Logger
	Clock  clock.Clock
}

// StopTime is K: the grace plus the time allowed to confirm the kill.
func (c *Config) StopTime() time.Duration { return c.StopGrace + supervise.KillWait }

// Validate refuses configurations that cannot be run safely (I7). It checks
// the budget with the requested session timeout; after connecting it is
// checked again with the negotiated one.
func (c *Config) Validate() error {
	if len(c.Command) == 0 {
		return fmt.Errorf("%w: no command given (zkfence run [flags] -- COMMAND [ARGS...])", ErrRefused)
	}
	if len(c.ZK.Servers) == 0 {
		return fmt.Errorf("%w: no ZooKeeper servers (--zk)", ErrRefused)
	}
	if err := lock.ValidateLockPath(c.LockPath); err != nil {
		return fmt.Errorf("%w: %v", ErrRefused, err)
	}
	if c.Attach != nil && (c.Storage == nil || c.Fence == nil) {
		// Without a guarded volume there is no fence record and so no
		// lock-delay: a previous holder that did not release and cannot be
		// fenced would not be waited out before the device is attached here.
		return fmt.Errorf("%w: --attach-cmd attaches the device that --mount (with --device) checks and mounts: give --mount", ErrRefused)
	}
	if c.Fence != nil && c.Storage == nil {
		return fmt.Errorf("%w: the fence record lives on guarded volumes: give --mount", ErrRefused)
	}
	if c.FreezeGuard != nil && c.Clock != nil {
		if _, real := c.Clock.(clock.Real); !real {
			return fmt.Errorf("%w: the freeze guard runs on the kernel's clock, not on a fake one", ErrRefused)
		}
	}
	if c.FencePeers != nil && c.Fencer == nil {
		return fmt.Errorf("%w: --fence-peers needs --fence-agent", ErrRefused)
	}
	if c.FastTakeover != nil && c.Fencer == nil {
		return fmt.Errorf("%w: --fast-takeover needs --fence-agent: a holder is taken over only once it is confirmed off", ErrRefused)
	}
	if c.StopGrace <= 0 {
		return fmt.Errorf("%w: --stop-grace must be positive, got %s", ErrRefused, c.StopGrace)
	}
	// The command and user resolve now, as Start would resolve them, so a
	// typo is refused before anything is connected or changed (I7). A
	// command not found or not executable keeps its own exit code (127/126).
	if err := supervise.Check(supervise.Spec{Argv: c.Command, Env: os.Environ(), User: c.User, Group: c.Group}); err != nil {
		if errors.Is(err, supervise.ErrBadUser) {
			return fmt.Errorf("%w: %v", ErrRefused, err)
		}
		return fmt.Errorf("%w (checked before taking the lock)", err)
	}
	b := c.budget(c.ZK.SessionTimeout)
	if err := b.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrRefused, err)
	}
	return nil
}

// budget returns the configured budget with session timeout t.
func (c *Config) budget(t time.Duration) lock.Budget {
	b := c.Budget
	b.SessionTimeout = t
	b.StopTime = c.StopTime()
	return b
}
