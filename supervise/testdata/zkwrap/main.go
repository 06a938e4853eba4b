// Command zkwrap is the smallest wrapper built on package supervise: the part
// of "zkfence run" that is PID 1, without ZooKeeper. The supervise tests run it
// as PID 1 (unshare --pid --fork --mount-proc) next to tini and dumb-init, and
// the benchmark measures it.
//
//	zkwrap [-engine E] [-signal-map M] [-user U] [-group G] [-grace D] [-lose-lock FILE]
//	       [-before SCRIPT] [-during SCRIPT] [-loop N] [-v] [--] cmd [args...]
//
// It forwards every signal, reaps, and when the child exits stops what the
// child left behind and exits with the child's code. -lose-lock stands in for
// the lease: when FILE appears, the tree is stopped and zkwrap exits 90 (lock
// lost). A Stop that cannot confirm the tree gone exits 99 with the survivors.
//
// The other flags stand in for the wrapper's own helper commands (the run
// pipeline's scheduled backups), which must neither lose their exit status to
// the reaper nor be stopped with the tree: -before runs "sh -c SCRIPT" before
// the child starts, with a bare fork and exec in a process group of its own
// (so that only Start's snapshot of the wrapper's children tells it from the
// tree); -during runs it once the child has started, with os/exec in a
// process group of its own, as the run pipeline runs its backup tools. Both
// are waited for after the tree is stopped, and their outcome printed
// ("zkwrap: before: exit status 4"). -loop runs "sh -c 'exit 3'" with os/exec
// N times while the child runs, every other one in a process group of its
// own, and prints "zkwrap: loop: N/N exit 3" or the first outcome that was
// not exit status 3. -v prints "zkwrap: stopped" once the tree is confirmed
// gone and "zkwrap: exit CODE" last.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/zkfence/zkfence/exitcode"
	"github.com/zkfence/zkfence/supervise"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

type config struct {
	spec     supervise.Spec
	policy   supervise.StopPolicy
	loseLock string
	helpers  helperConfig
	verbose  bool
}

func run(args []string) int {
	sigs, stopSignals := supervise.Signals() // first: as PID 1, an unhandled SIGTERM would kill us
	defer stopSignals()
	cfg, err := parse(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "zkwrap: %v\n", err)
		return exitcode.RefusedConfig
	}
	code := supervised(cfg, sigs)
	if cfg.verbose {
		fmt.Fprintf(os.Stderr, "zkwrap: exit %d\n", code)
	}
	return code
}

// supervised runs the child (and the helpers around it) and returns the exit
// code.
func supervised(cfg config, sigs <-chan os.Signal) int {
	h := startBefore(cfg.helpers)
	defer h.wait()
	child, err := supervise.Start(cfg.spec)
	if err != nil {
		fmt.Fprintf(os.Stderr, "zkwrap: %v\n", err)
		return supervise.ExitCodeOf(err)
	}
	h.startDuring(cfg.helpers)
	code := watch(child, sigs, appears(cfg.loseLock))
	ctx, cancel := context.WithTimeout(context.Background(), cfg.policy.Grace+supervise.KillWait)
	defer cancel()
	if err := child.Stop(ctx, cfg.policy); err != nil {
		fmt.Fprintf(os.Stderr, "zkwrap: %v\n", err)
		return exitcode.Internal
	}
	if cfg.verbose {
		fmt.Fprintln(os.Stderr, "zkwrap: stopped")
	}
	return code
}

// watch forwards signals until the child exits (its code) or the lock is
// lost (90).
func watch(child *supervise.Child, sigs <-chan os.Signal, lost <-chan struct{}) int {
	for {
		select {
		case s := <-sigs:
			child.Forward(s)
		case <-child.Done():
			return child.ExitCode()
		case <-lost:
			return exitcode.LockLost
		}
	}
}

func parse(args []string) (config, error) {
	fs := flag.NewFlagSet("zkwrap", flag.ContinueOnError)
	engine := fs.String("engine", "", "postgres, mysql or empty: the default signal map")
	smap := fs.String("signal-map", "", "FROM:TO,... (replaces the engine's map)")
	usr := fs.String("user", "", "run the child as this user (name or uid)")
	grp := fs.String("group", "", "with this primary group (name or gid)")
	grace := fs.Duration("grace", 10*time.Second, "time between the stop signal and SIGKILL")
	lose := fs.String("lose-lock", "", "stop the tree and exit 90 when this file appears")
	var hc helperConfig
	fs.StringVar(&hc.before, "before", "", "run sh -c SCRIPT before the child (fork and exec, in its own process group)")
	fs.StringVar(&hc.during, "during", "", "run sh -c SCRIPT once the child has started (os/exec, in its own process group)")
	fs.IntVar(&hc.loop, "loop", 0, "run sh -c 'exit 3' this many times while the child runs")
	verbose := fs.Bool("v", false, "say when the tree is stopped, and the exit code")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() == 0 {
		return config{}, errors.New("no command")
	}
	m := supervise.DefaultSignalMap(*engine)
	if *smap != "" {
		var err error
		if m, err = supervise.ParseSignalMap(*smap); err != nil {
			return config{}, err
		}
	}
	return config{
		spec: supervise.Spec{
			Argv: fs.Args(), Env: os.Environ(), User: *usr, Group: *grp, SignalMap: m,
		},
		policy:   supervise.StopPolicy{Signal: m.Translate(syscall.SIGTERM), Grace: *grace},
		loseLock: *lose,
		helpers:  hc,
		verbose:  *verbose,
	}, nil
}

// appears returns a channel closed when path exists (never, for "").
func appears(path string) <-chan struct{} {
	ch := make(chan struct{})
	if path == "" {
		return ch
	}
	go func() {
		for {
			if _, err := os.Stat(path); err == nil {
				close(ch)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return ch
}
