package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/zkfence/zkfence/health"
	"github.com/zkfence/zkfence/lock"
	"github.com/zkfence/zkfence/runner"
	"github.com/zkfence/zkfence/supervise"
)

// runFlags are the flags of `zkfence run`, shared with `zkfence check`.
func runFlags() []cli.Flag {
	flags := append(zkFlags(),
		&cli.DurationFlag{Name: "zk-tick-time", EnvVars: env("zk-tick-time"), Value: 2 * time.Second,
			Usage: "the ensemble's tickTime (zoo.cfg); part of the isolated-follower window G"},
		&cli.IntFlag{Name: "zk-sync-limit", EnvVars: env("zk-sync-limit"), Value: 5,
			Usage: "the ensemble's syncLimit in ticks (zoo.cfg); part of G"},
		&cli.DurationFlag{Name: "heartbeat", EnvVars: env("heartbeat"), Value: time.Second,
			Usage: "lease renewal interval h"},
		&cli.Float64Flag{Name: "clock-drift", EnvVars: env("clock-drift"), Value: 0.01,
			Usage: "allowed clock rate error rho, as a fraction"},
		&cli.StringFlag{Name: "stop-signal", EnvVars: env("stop-signal"), Value: "TERM",
			Usage: "`signal` that asks the child to stop when the lease is lost (postgres: INT, fast shutdown)"},
		&cli.DurationFlag{Name: "stop-grace", EnvVars: env("stop-grace"), Value: time.Second,
			Usage: "time between the stop signal and SIGKILL when the lease is lost; counts in K"},
		&cli.StringFlag{Name: "signal-map", EnvVars: env("signal-map"),
			Usage: "translate forwarded signals, e.g. `TERM:INT,QUIT:QUIT`"},
		&cli.StringFlag{Name: "user", EnvVars: env("user"), Usage: "run the child as this `user` (name or uid)"},
		&cli.StringFlag{Name: "group", EnvVars: env("group"), Usage: "run the child with this primary `group` (name or gid)"},
		&cli.StringFlag{Name: "http", EnvVars: env("http"),
			Usage: "serve /healthz, /readyz and /metrics on `addr` (e.g. :8080); 200 on /healthz only while the child runs under the lock"},
	)
	return append(flags, logFlags()...)
}

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "take the lock, then run COMMAND; stop it when the lock is lost",
		ArgsUsage: "-- COMMAND [ARGS...]",
		Flags:     runFlags(),
		Action:    runAction,
	}
}

func runAction(c *cli.Context) error {
	log, err := newLogger(c, os.Stderr)
	if err != nil {
		return err
	}
	cfg, err := runConfig(c, log)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil { // before anything listens
		return err
	}
	if addr := c.String("http"); addr != "" {
		cfg.Health = health.NewState(cfg.LockPath)
		srv, err := health.Listen(addr, cfg.Health)
		if err != nil {
			return refused("--http: %v", err)
		}
		defer srv.Close()
		log.Info("serving health and metrics", "addr", srv.Addr())
	}
	return runner.Run(context.Background(), cfg)
}

// runConfig turns the flags into a run configuration; bad values are refused.
func runConfig(c *cli.Context, log *slog.Logger) (runner.Config, error) {
	zkcfg, err := sessionConfig(c, log)
	if err != nil {
		return runner.Config{}, err
	}
	stopSignal, err := supervise.ParseSignal(c.String("stop-signal"))
	if err != nil {
		return runner.Config{}, refused("--stop-signal: %v", err)
	}
	signalMap := supervise.DefaultSignalMap("")
	if s := c.String("signal-map"); s != "" {
		if signalMap, err = supervise.ParseSignalMap(s); err != nil {
			return runner.Config{}, refused("--signal-map: %v", err)
		}
	}
	return runner.Config{
		ZK:       zkcfg,
		LockPath: c.String("lock"),
		Budget: lock.Budget{
			TickTime:   c.Duration("zk-tick-time"),
			SyncLimit:  c.Int("zk-sync-limit"),
			Heartbeat:  c.Duration("heartbeat"),
			ClockDrift: c.Float64("clock-drift"),
		},
		StopSignal: stopSignal,
		StopGrace:  c.Duration("stop-grace"),
		SignalMap:  signalMap,
		Command:    c.Args().Slice(),
		User:       c.String("user"),
		Group:      c.String("group"),
		Version:    version,
		Logger:     log,
	}, nil
}
