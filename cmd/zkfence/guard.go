package main

import (
	"os"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/zkfence/zkfence/runner"
	"github.com/zkfence/zkfence/supervise"
)

func freezeGuardFlag() cli.Flag {
	return &cli.StringFlag{Name: "freeze-guard", EnvVars: env("freeze-guard"), Value: runner.FreezeGuardAuto,
		Usage: "`auto`, on or off: a kernel timer kills zkfence and the child's whole tree (run in a PID " +
			"namespace of its own) at the lease deadline, even while zkfence is frozen with its child " +
			"(docker pause). Needs CAP_SYS_ADMIN; auto warns and goes without when it is missing"}
}

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
