package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/zkfence/zkfence/fenceagent"
	"github.com/zkfence/zkfence/fsguard"
	"github.com/zkfence/zkfence/lock"
	"github.com/zkfence/zkfence/restore"
	"github.com/zkfence/zkfence/runner"
)

// errCheckFailed is returned by `zkfence check` when it found problems
// (exit code 1); they are already printed.
var errCheckFailed = errors.New("check found problems")

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "check a run's configuration, ZooKeeper, timing budget and storage; takes no lock, changes nothing",
		ArgsUsage: "-- COMMAND [ARGS...]",
		Flags: append(runFlags(),
			&cli.DurationFlag{Name: "connect-timeout", EnvVars: env("connect-timeout"), Value: 15 * time.Second,
				Usage: "give up when ZooKeeper does not answer within this time"}),
		Action: checkAction,
	}
}

// checker collects findings; each check prints its line as it goes.
type checker struct {
	w        io.Writer
	problems int
}

func (k *checker) ok(format string, args ...any) {
	fmt.Fprintf(k.w, "ok       "+format+"\n", args...)
}

func (k *checker) problem(format string, args ...any) {
	k.problems++
	fmt.Fprintf(k.w, "PROBLEM  "+format+"\n", args...)
}

func (k *checker) info(format string, args ...any) {
	fmt.Fprintf(k.w, "         "+format+"\n", args...)
}

func checkAction(c *cli.Context) error {
	k := &checker{w: os.Stdout}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg, err := runConfig(c, log, nil)
	if err != nil {
		k.problem("flags: %v", err)
		return k.done()
	}
	if err := cfg.Validate(); err != nil {
		k.problem("configuration: %v", err)
	} else {
		k.ok("configuration (budget with the requested session timeout %s)", cfg.ZK.SessionTimeout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Duration("connect-timeout"))
	defer cancel()
	checkZooKeeper(ctx, k, cfg)
	checkStorage(ctx, k, c)
	checkFreezeGuard(k, c)
	checkFenceAgent(ctx, k, c, cfg.FenceID)
	checkFencePeers(k, cfg.FenceID, cfg.FencePeers)
	return k.done()
}

// checkFreezeGuard says whether run would have the freeze guard: a problem
// only with --freeze-guard on, since auto runs without it.
func checkFreezeGuard(k *checker, c *cli.Context) {
	mode := c.String("freeze-guard")
	switch mode {
	case runner.FreezeGuardOff:
		k.info("freeze guard: off (--freeze-guard off)")
		return
	case runner.FreezeGuardAuto, runner.FreezeGuardOn:
	default:
		k.problem("freeze guard: --freeze-guard %q is not auto, on or off", mode)
		return
	}
	self, err := runner.SelfPath()
	if err == nil {
		err = runner.ProbeFreezeGuard(self)
	}
	switch {
	case err == nil:
		k.ok("freeze guard: the child gets a PID namespace of its own; the kernel kills it at the lease deadline even while zkfence is frozen")
	case mode == runner.FreezeGuardOn:
		k.problem("freeze guard: --freeze-guard on, but the child cannot get a PID namespace of its own (CAP_SYS_ADMIN?): %v", err)
	default:
		k.info("WARNING: freeze guard unavailable, run goes without it (CAP_SYS_ADMIN?): %v", err)
	}
}

// checkStorage checks the guarded volumes (fsck in no-change mode, nothing
// mounted) and what a start would restore.
func checkStorage(ctx context.Context, k *checker, c *cli.Context) {
	if vols, _, err := volumesFromFlags(c); err == nil {
		ok, problems := fsguard.Preflight(ctx, vols)
		for _, line := range ok {
			k.ok("storage: %s", line)
		}
		for _, err := range problems {
			k.problem("storage: %v", err)
		}
	}
	if rcfg, _, err := restoreFromFlags(c); err == nil {
		ok, problems := restore.Preflight(rcfg)
		for _, line := range ok {
			k.ok("restore: %s", line)
		}
		for _, err := range problems {
			k.problem("restore: %v", err)
		}
	}
}

// checkZooKeeper connects, reports the negotiated timeout and the budget
// built on it, and who holds the lock. It creates nothing.
func checkZooKeeper(ctx context.Context, k *checker, cfg runner.Config) {
	sess, err := lock.Dial(ctx, cfg.ZK)
	if err != nil {
		k.problem("zookeeper: %v", err)
		return
	}
	defer sess.Close()
	negotiated := sess.NegotiatedTimeout()
	k.ok("zookeeper: session 0x%x, negotiated session timeout %s (requested %s)", sess.ID(), negotiated, cfg.ZK.SessionTimeout)
	b := cfg.Budget
	b.SessionTimeout, b.StopTime = negotiated, cfg.StopTime()
	if err := b.Validate(); err != nil {
		k.problem("timing budget with the negotiated timeout: %v", err)
	} else {
		k.ok("timing budget: %s", b.Arithmetic())
		k.info("the stop begins %s after the last renewal; the child is dead %s after it",
			b.StopAfter().Round(time.Millisecond), b.KillAfter().Round(time.Millisecond))
	}
	if err := sess.CheckLockPath(cfg.LockPath); err != nil {
		k.problem("lock %s: %v", cfg.LockPath, err) // an open ACL with credentials, a wrong password
	}
	line, err := sess.Contenders(cfg.LockPath)
	switch {
	case err != nil:
		k.problem("lock %s: %v", cfg.LockPath, err)
	case len(line) == 0:
		k.ok("lock %s: free", cfg.LockPath)
	default:
		holder := line[0].Data
		if line[0].Holder != nil {
			holder = fmt.Sprintf("%s pid %d", line[0].Holder.Host, line[0].Holder.PID)
		}
		k.ok("lock %s: held by %s (token %d), %d waiting", cfg.LockPath, holder, line[0].Token, len(line)-1)
	}
}

func (k *checker) done() error {
	if k.problems > 0 {
		fmt.Fprintf(k.w, "%d problem(s) found\n", k.problems)
		return errCheckFailed
	}
	fmt.Fprintln(k.w, "all checks passed")
	return nil
}

// checkFenceAgent asks the agent for its metadata and runs action=monitor,
// fencing nobody. It also asks for our own fence id's status: an agent
// that says this running node is off has the wrong target, and would
// confirm a fence that never happened.
func checkFenceAgent(ctx context.Context, k *checker, c *cli.Context, self string) {
	agent, _, _, err := fenceAgentFromFlags(c)
	if err != nil || agent == nil {
		if self != "" {
			k.info("fence id of this node: %s (recorded for the next holder's fence agent)", self)
		}
		return
	}
	md, err := agent.Check(ctx)
	if err != nil {
		k.problem("fence agent %s: %v", agent.Path, err)
		return
	}
	k.ok("fence agent %s: monitor passed (unfencing needed: %v)", agent.Path, md.NeedsUnfencing())
	if self == "" {
		k.problem("fence agent: this node has no fence id (--fence-id): the next holder could not fence it")
		return
	}
	switch p, err := agent.Status(ctx, self); {
	case err != nil:
		k.info("WARNING: fence agent: status of this node (%s) unknown: %v", self, err)
	case p == fenceagent.PowerOff:
		k.problem("fence agent: it reports this running node (%s) OFF: wrong --fence-id or agent options; a fence would be confirmed without happening", self)
	default:
		k.ok("fence agent: this node (%s) is %s", self, p)
	}
}

// checkFencePeers shows --fence-peers, and warns when this node's own fence
// id is listed: expected when every node shares one list (a run never
// fences its own id), a mistake otherwise.
func checkFencePeers(k *checker, self string, peers []string) {
	if peers == nil {
		return
	}
	k.info("fence peers (the only ids the agent is asked to fence): %s", strings.Join(peers, ", "))
	if self != "" && slices.Contains(peers, self) {
		k.info("WARNING: fence peers: the list holds this node's own fence id (%s): expected when every node shares one list "+
			"(a run never fences its own id), but make sure it names this node under no other name (a short container id "+
			"or host name): the agent would fence this node", self)
	}
}
