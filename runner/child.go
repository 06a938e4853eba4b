package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/zkfence/zkfence/fence"
	"github.com/zkfence/zkfence/lock"
	"github.com/zkfence/zkfence/supervise"
)

// startChild starts the one child of this run, if the lease still holds.
func (r *run) startChild() (*supervise.Child, error) {
	if r.lease.Overdue() || isClosed(r.lease.Lost()) {
		return nil, fmt.Errorf("%w before the child started: %v", ErrLockLost, r.lease.Err())
	}
	env := append(childEnv(os.Environ()),
		fmt.Sprintf("ZKFENCE_TOKEN=%d", r.lease.Token()),
		"ZKFENCE_LOCK_NODE="+r.lease.Node(),
		"ZKFENCE_HOLDER="+lock.Self(r.cfg.Version).String(),
	)
	spec, ready, err := r.guardSpec(supervise.Spec{
		Argv: r.cfg.Command, Env: env, User: r.cfg.User, Group: r.cfg.Group, SignalMap: r.cfg.SignalMap,
	})
	if err != nil {
		return nil, fmt.Errorf("freeze guard: %w", err)
	}
	child, unpin, err := startPinned(spec)
	if ready != nil {
		r.awaitReady(spec, ready, err == nil)
	}
	if err != nil {
		r.disarmGuard()
		return nil, fmt.Errorf("start %s: %w", r.cfg.Command[0], err)
	}
	r.unpin = unpin
	r.log.Info("child started", "pid", child.Pid(), "command", strings.Join(r.cfg.Command, " "), "token", r.lease.Token())
	r.cfg.Health.ChildStarted(child.Pid())
	return child, nil
}

// childEnv drops zkfence's own configuration (which may hold credentials)
// from the environment the child inherits.
func childEnv(environ []string) []string {
	out := environ[:0:0]
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "ZKFENCE_") {
			out = append(out, kv)
		}
	}
	return out
}

// stop stops the child tree, with SIGKILL early enough that it is confirmed
// dead by deadline. A tree that survives (a process stuck in uninterruptible
// I/O on a dead mount) is tried again as long as our lease holds: the lock
// is not given up while something of the child may still write.
func (r *run) stop(child *supervise.Child, deadline time.Time, policy supervise.StopPolicy) error {
	for {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		err := child.Stop(ctx, policy)
		cancel()
		if err == nil {
			r.childDead = true
			r.disarmGuard()
			if r.unpin != nil {
				r.unpin()
				r.unpin = nil
			}
			return nil
		}
		if r.lease.Overdue() || isClosed(r.lease.Lost()) {
			return err
		}
		r.log.Error("child tree NOT confirmed dead; holding the lock and trying again", "err", err)
		time.Sleep(time.Second)
		deadline = time.Now().Add(r.cfg.StopTime())
	}
}

// stopOnLoss stops the child because cause (kind "lock", "mount" or
// "fenced") says it may no longer run, and returns cause.
//
// The stop is graceful (stop signal, grace, SIGKILL) while nobody else can
// hold the lock yet. Past KillBy (a process that thawed after a freeze), or
// when the volume names a newer holder, another holder may already own the
// data: a graceful shutdown would write to it (PostgreSQL writes a shutdown
// checkpoint), so the tree gets SIGKILL at once.
func (r *run) stopOnLoss(child *supervise.Child, kind string, cause error) error {
	r.cfg.Health.Stopping(kind, cause)
	killBy := r.lease.KillBy()
	policy := r.gracefulStop()
	if kind == "fenced" || !time.Now().Before(killBy) {
		policy = supervise.StopPolicy{Signal: syscall.SIGKILL}
	}
	r.log.Warn("stopping the child", "cause", cause, "pid", child.Pid(), "signal", policy.Signal,
		"kill_by_in", time.Until(killBy).Round(time.Millisecond))
	if err := r.stop(child, killBy, policy); err != nil {
		r.log.Error("child tree NOT confirmed dead by the lease deadline", "err", err)
		return errors.Join(cause, fmt.Errorf("%w: %v", ErrStopFailed, err))
	}
	r.log.Info("child stopped", "margin_to_kill_by", time.Until(killBy).Round(time.Millisecond))
	return cause
}

// childExited stops whatever the child left behind (daemonized
// grandchildren) and passes the child's code on; cleanup then releases the
// lock at once.
func (r *run) childExited(child *supervise.Child) error {
	code := child.ExitCode()
	r.log.Info("child exited", "pid", child.Pid(), "code", code)
	r.cfg.Health.Stopping("exit", nil)
	if err := r.stop(child, r.lease.KillBy(), r.gracefulStop()); err != nil {
		r.log.Error("descendants of the child NOT confirmed dead", "err", err)
	}
	if code == 0 {
		return nil
	}
	return &ChildExit{Code: code}
}

// gracefulStop is the configured stop: stop signal, grace, then SIGKILL.
func (r *run) gracefulStop() supervise.StopPolicy {
	return supervise.StopPolicy{Signal: r.cfg.StopSignal, Grace: r.cfg.StopGrace}
}

// fenceValid is what the fence keeper asks before each heartbeat.
func (r *run) fenceValid() bool { return !r.lease.Overdue() && !isClosed(r.lease.Lost()) }

// startKeeper starts the heartbeat on the fence records.
func (r *run) startKeeper() {
	if r.claim == nil {
		return
	}
	r.keeper = fence.Keep(r.guarded.Roots(), *r.claim, r.cfg.Budget.Heartbeat, r.fenceValid, r.cfg.Clock, r.log)
}
