package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/zkfence/zkfence/runner"
)

// fenceFlags control the fence record zkfence keeps on every guarded volume
// (every --mount).
func fenceFlags() []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "lock-delay", EnvVars: env("lock-delay"), Value: 5 * time.Second,
			Usage: "wait until the previous holder's heartbeat on the volume is this old before starting " +
				"(skipped when it released cleanly); must exceed the clock skew between nodes"},
		&cli.BoolFlag{Name: "claim-volume", EnvVars: env("claim-volume"),
			Usage: "allow claiming a volume that has no fence record yet (its first use)"},
		&cli.BoolFlag{Name: "take-over-volume", EnvVars: env("take-over-volume"),
			Usage: "allow taking a volume that belongs to another lock path (moving it to this service)"},
	}
}

// fenceFromFlags returns the fence configuration; the fence is on whenever
// storage is guarded.
func fenceFromFlags(c *cli.Context, guarded bool) (*runner.FenceConfig, error) {
	if !guarded {
		for _, name := range []string{"claim-volume", "take-over-volume"} {
			if c.Bool(name) {
				return nil, refused("--%s needs a guarded volume (--mount)", name)
			}
		}
		return nil, nil
	}
	d := c.Duration("lock-delay")
	if d < 0 {
		return nil, refused("--lock-delay must not be negative, got %s", d)
	}
	return &runner.FenceConfig{LockDelay: d, ClaimNew: c.Bool("claim-volume"), TakeOver: c.Bool("take-over-volume")}, nil
}
