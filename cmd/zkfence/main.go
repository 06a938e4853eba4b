// Command zkfence is a ZooKeeper-fenced entrypoint for stateful processes.
//
// Each command lives in its own file and only turns flags into a
// configuration, calls the library, and returns an error. Only main calls
// os.Exit, after every command's cleanup has run (STYLE.md, practice 5).
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/zkfence/zkfence/runner"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(runApp(os.Args))
}

// commands are zkfence's commands, one file each.
func commands() []*cli.Command {
	return []*cli.Command{
		runCommand(),
		checkCommand(),
		statusCommand(),
		versionCommand(),
		marathonCommand(),
		backupCommand(),
		nsinitCommand(),
	}
}

// runApp runs the command line and returns the process exit code.
func runApp(args []string) int {
	app := &cli.App{
		Name:    "zkfence",
		Usage:   "a ZooKeeper-fenced entrypoint for stateful processes",
		Version: version,
		// Errors are mapped to exit codes here, not inside cli.Run.
		ExitErrHandler:        func(*cli.Context, error) {},
		Commands:              commands(),
		CustomAppHelpTemplate: cli.AppHelpTemplate + exitCodeHelp,
	}
	err := app.Run(args)
	code := exitCodeOf(err)
	var child *runner.ChildExit
	if err != nil && !errors.Is(err, errQuiet) && !errors.Is(err, errCheckFailed) && !errors.As(err, &child) { // a child's own exit is not zkfence's error
		fmt.Fprintf(stderrQueue(), "zkfence: %v\n", err)
	}
	// The last lines reach a slow stderr if they can; a stalled one does not
	// keep this process (and its ZooKeeper session) alive.
	stderrQueue().Flush(flushTimeout)
	return code
}
