package main

import (
	"context"
	"log/slog"
	"os"
	"syscall"
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
		freezeGuardFlag(),
		&cli.StringFlag{Name: "http", EnvVars: env("http"),
			Usage: "serve /healthz, /readyz and /metrics on `addr` (e.g. :8080); 200 on /healthz only while the child runs under the lock"},
	)
	flags = append(flags, storageFlags()...)
	flags = append(flags, fenceFlags()...)
	flags = append(flags, fenceAgentFlags()...)
	flags = append(flags, attachFlags()...)
	flags = append(flags, takeoverFlags()...)
	flags = append(flags, restoreFlags()...)
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
	var state *health.State
	if c.String("http") != "" {
		state = health.NewState(c.String("lock"))
		state.CountLogDrops(stderrQueue().Dropped)
	}
	cfg, err := runConfig(c, log, state)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil { // before anything listens
		return err
	}
	self, err := runner.SelfPath()
	if err != nil {
		return err
	}
	plan, err := runner.PlanFreezeGuard(c.String("freeze-guard"), self, log)
	if err != nil {
		return err
	}
	switch plan {
	case runner.FreezeGuardUnderInit:
		return runner.RunUnderInit(self, os.Args[1:], log)
	case runner.FreezeGuardHere:
		if cfg.FreezeGuard, err = runner.NewFreezeGuard(self, cfg.StopSignal, cfg.StopGrace); err != nil {
			return err
		}
		defer cfg.FreezeGuard.Switch.Close()
	}
	if addr := c.String("http"); addr != "" {
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
// state, if not nil, receives the run's health reports.
func runConfig(c *cli.Context, log *slog.Logger, state *health.State) (runner.Config, error) {
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
	cfg := runner.Config{
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
		Health:     state,
		Logger:     log,
	}
	if err := phasesFromFlags(c, &cfg); err != nil {
		return runner.Config{}, err
	}
	if err := checkStopSignals(cfg.StopSignal, cfg.SignalMap); err != nil {
		return runner.Config{}, err
	}
	if err := fencingFromFlags(c, &cfg, state); err != nil {
		return runner.Config{}, err
	}
	return cfg, nil
}

// phasesFromFlags adds the optional phases: guarded storage with its fence,
// restore at start, scheduled backups; and an engine's signal defaults.
func phasesFromFlags(c *cli.Context, cfg *runner.Config) error {
	vols, probe, err := volumesFromFlags(c)
	if err != nil {
		return err
	}
	if len(vols) > 0 {
		cfg.Storage = guardedStorage{vols: vols, probe: probe, log: cfg.Logger, state: cfg.Health}
	}
	if cfg.Fence, err = fenceFromFlags(c, len(vols) > 0); err != nil {
		return err
	}
	rcfg, sched, err := restoreFromFlags(c)
	if err != nil {
		return err
	}
	// Restored files and backup tools get the child's identity (PostgreSQL
	// refuses a data directory it does not own; peer authentication).
	if cfg.User != "" || cfg.Group != "" {
		id, err := supervise.LookupUser(cfg.User, cfg.Group)
		if err != nil {
			return refused("--user: %v", err)
		}
		rcfg.UID, rcfg.GID = int(id.Uid), int(id.Gid)
		sched.Config.UID, sched.Config.GID = int(id.Uid), int(id.Gid)
	}
	if rcfg.Enabled() {
		cfg.Restorer = restorer{cfg: rcfg, log: cfg.Logger, state: cfg.Health}
	}
	if sched.Every > 0 {
		cfg.Backups = &scheduledBackups{sched: sched, log: cfg.Logger, state: cfg.Health}
	}
	return engineDefaults(c, cfg, rcfg.Engine)
}

// engineDefaults gives an engine's stop signal and signal map unless they
// were set: PostgreSQL stops fast on SIGINT, so docker stop's SIGTERM is
// translated and lock loss sends SIGINT.
func engineDefaults(c *cli.Context, cfg *runner.Config, engine string) error {
	m := supervise.DefaultSignalMap(engine)
	if !c.IsSet("signal-map") {
		cfg.SignalMap = m
	}
	if !c.IsSet("stop-signal") {
		cfg.StopSignal = m.Translate(syscall.SIGTERM)
	}
	return nil
}
