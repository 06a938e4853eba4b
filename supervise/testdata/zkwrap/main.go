// Command zkwrap is the smallest wrapper built on package supervise: the part
// of "zkfence run" that is PID 1, without ZooKeeper. The supervise tests run it
// as PID 1 (unshare --pid --fork --mount-proc) next to tini and dumb-init, and
// the benchmark measures it.
//
//	zkwrap [-engine E] [-signal-map M] [-user U] [-group G] [-grace D] [-lose-lock FILE] [--] cmd [args...]
//
// It forwards every signal, reaps, and when the child exits stops what the
// child left behind and exits with the child's code. -lose-lock stands in for
// the lease: when FILE appears, the tree is stopped and zkwrap exits 90 (lock
// lost). A Stop that cannot confirm the tree gone exits 99 with the survivors.
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
}

func run(args []string) int {
	sigs, stopSignals := supervise.Signals() // first: as PID 1, an unhandled SIGTERM would kill us
	defer stopSignals()
	cfg, err := parse(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "zkwrap: %v\n", err)
		return exitcode.RefusedConfig
	}
	child, err := supervise.Start(cfg.spec)
	if err != nil {
		fmt.Fprintf(os.Stderr, "zkwrap: %v\n", err)
		return supervise.ExitCodeOf(err)
	}
	code := watch(child, sigs, appears(cfg.loseLock))
	ctx, cancel := context.WithTimeout(context.Background(), cfg.policy.Grace+supervise.KillWait)
	defer cancel()
	if err := child.Stop(ctx, cfg.policy); err != nil {
		fmt.Fprintf(os.Stderr, "zkwrap: %v\n", err)
		return exitcode.Internal
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
