package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/zkfence/zkfence/deadman"
	"github.com/zkfence/zkfence/exitcode"
	"github.com/zkfence/zkfence/runner"
	"github.com/zkfence/zkfence/supervise"
)

// The --freeze-guard modes.
const (
	guardAuto = "auto" // on when the kernel allows it, with a warning when not
	guardOn   = "on"   // refuse to run without it
	guardOff  = "off"
)

func freezeGuardFlag() cli.Flag {
	return &cli.StringFlag{Name: "freeze-guard", EnvVars: env("freeze-guard"), Value: guardAuto,
		Usage: "`auto`, on or off: a kernel timer kills zkfence and the child's whole tree (run in a PID " +
			"namespace of its own) at the lease deadline, even while zkfence is frozen with its child " +
			"(docker pause). Needs CAP_SYS_ADMIN; auto warns and goes without when it is missing"}
}

// guardPlan is what runAction does about the freeze guard.
type guardPlan int

const (
	guardNone      guardPlan = iota // run without it
	guardHere                       // arm it in this process
	guardUnderInit                  // PID 1: run this command line again under a minimal init
)

// planFreezeGuard reads --freeze-guard and finds out whether the kernel lets
// this process create a PID namespace. It changes nothing.
func planFreezeGuard(c *cli.Context, self string, log *slog.Logger) (guardPlan, error) {
	mode := c.String("freeze-guard")
	switch mode {
	case guardOff:
		return guardNone, nil
	case guardAuto, guardOn:
	default:
		return guardNone, refused("--freeze-guard: %q is not auto, on or off", mode)
	}
	if err := probeFreezeGuard(self); err != nil {
		if mode == guardOn {
			return guardNone, refused("--freeze-guard on: the child cannot get a PID namespace of its own "+
				"(give the container CAP_SYS_ADMIN, or use --freeze-guard auto or off): %v", err)
		}
		log.Warn("FREEZE GUARD OFF: the child cannot get a PID namespace of its own (no CAP_SYS_ADMIN?); "+
			"if this container is frozen past the lease deadline (docker pause), its child runs for a few "+
			"milliseconds after the thaw while another node may hold the lock", "err", err)
		return guardNone, nil
	}
	if os.Getpid() == 1 {
		return guardUnderInit, nil
	}
	return guardHere, nil
}

// probeFreezeGuard finds out, by trying, whether the child can get a PID
// namespace of its own: zkfence's own binary is started in one and exits.
func probeFreezeGuard(self string) error {
	return supervise.ProbePIDNamespace([]string{self, "version"})
}

// freezeGuard builds the run's guard: the deadman switch of this process and
// the namespace init the child runs under.
func freezeGuard(self string, cfg *runner.Config) (*runner.FreezeGuard, error) {
	sw, err := deadman.New()
	if err != nil {
		return nil, fmt.Errorf("freeze guard: %w", err)
	}
	sig, grace := cfg.StopSignal, cfg.StopGrace
	wrap := func(s supervise.Spec) supervise.Spec {
		argv := []string{self, "nsinit", "--ready-fd", "3", "--stop-signal", supervise.SignalName(sig), "--stop-grace", grace.String(),
			"--user", s.User, "--group", s.Group, "--"}
		return supervise.Spec{Argv: append(argv, s.Argv...), Env: s.Env, Dir: s.Dir, SignalMap: s.SignalMap}
	}
	return &runner.FreezeGuard{Switch: sw, Wrap: wrap}, nil
}

// selfPath is the path of zkfence's own binary, to run it again.
func selfPath() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find zkfence's own binary: %w", err)
	}
	if _, err := os.Stat(self); err != nil {
		return "/proc/self/exe", nil // replaced or deleted since start
	}
	return self, nil
}

// runUnderInit is `zkfence run` as PID 1 with the freeze guard: the kernel
// drops a namespace init's own timer signal, so this process stays a minimal
// init (forward signals, reap orphans, pass the exit code on) and runs the
// same command line again as its child, which arms the guard.
func runUnderInit(self string, log *slog.Logger) error {
	sigs, stopSignals := supervise.Signals() // before the child: as PID 1 an unhandled SIGTERM is lost
	defer stopSignals()
	child, err := supervise.Start(supervise.Spec{Argv: append([]string{self}, os.Args[1:]...), Env: os.Environ()})
	if err != nil {
		return fmt.Errorf("run zkfence under a minimal init: %w", err)
	}
	log.Info("PID 1: running zkfence again under a minimal init, so that the kernel can kill it at the lease deadline",
		"pid", child.Pid())
	for done := false; !done; {
		select {
		case <-child.Done():
			done = true
		case sig := <-sigs:
			child.Forward(sig)
		}
	}
	// zkfence stopped its own tree before it exited; this only reaps.
	ctx, cancel := context.WithTimeout(context.Background(), initStopTimeout)
	defer cancel()
	if err := child.Stop(ctx, supervise.StopPolicy{Signal: syscall.SIGTERM, Grace: initStopTimeout / 2}); err != nil {
		log.Error("processes left after zkfence exited", "err", err)
	}
	code := child.ExitCode()
	if code == exitcode.SignalBase+int(syscall.SIGKILL) {
		log.Error("zkfence was SIGKILLed: by its freeze guard at the lease deadline (it could not act in time: frozen, stopped or stuck), or from outside; the child's PID namespace died with it")
	}
	if code != 0 {
		return &runner.ChildExit{Code: code}
	}
	return nil
}

// initStopTimeout bounds the minimal init's cleanup after zkfence exited:
// zkfence confirms its child's tree dead before it exits, so nothing is
// normally left.
const initStopTimeout = 2 * time.Second

// nsinitCommand is the hidden `zkfence nsinit`: the init of the child's PID
// namespace (supervise.NamespaceInit). The run pipeline starts it; it is not
// for people.
func nsinitCommand() *cli.Command {
	return &cli.Command{
		Name:      "nsinit",
		Hidden:    true,
		Usage:     "internal: the init of the child's PID namespace under the freeze guard",
		ArgsUsage: "-- COMMAND [ARGS...]",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "ready-fd", Usage: "write a byte to this fd once ready (0: none)"},
			&cli.StringFlag{Name: "stop-signal", Value: "TERM"},
			&cli.DurationFlag{Name: "stop-grace", Value: time.Second},
			&cli.StringFlag{Name: "user"},
			&cli.StringFlag{Name: "group"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return refused("nsinit: no command")
			}
			sig, err := supervise.ParseSignal(c.String("stop-signal"))
			if err != nil {
				return refused("nsinit --stop-signal: %v", err)
			}
			var ready *os.File
			if fd := c.Int("ready-fd"); fd > 2 {
				syscall.CloseOnExec(fd) // not the child's
				ready = os.NewFile(uintptr(fd), "ready")
			}
			spec := supervise.Spec{Argv: c.Args().Slice(), Env: os.Environ(), User: c.String("user"), Group: c.String("group")}
			code := supervise.NamespaceInit(spec, supervise.StopPolicy{Signal: sig, Grace: c.Duration("stop-grace")}, ready)
			if code != 0 {
				return &runner.ChildExit{Code: code}
			}
			return nil
		},
	}
}
