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
	"github.com/zkfence/zkfence/supervise"
)

// startChild starts the one child of this run, if the lease still holds.
func (r *run) startChild() (Child, error) {
	if r.lease.Overdue() || r.underLease.Err() != nil {
		return nil, fmt.Errorf("before the child started: %w", r.leaseLoss())
	}
	env := append(childEnv(os.Environ()),
		fmt.Sprintf("ZKFENCE_TOKEN=%d", r.lease.Token()),
		"ZKFENCE_LOCK_NODE="+r.lease.Node(),
		"ZKFENCE_HOLDER="+r.self.String(),
	)
	spec, ready, err := r.freezeGuardSpec(supervise.Spec{
		Argv: r.cfg.Command, Env: env, User: r.cfg.User, Group: r.cfg.Group, SignalMap: r.cfg.SignalMap,
	})
	if err != nil {
		return nil, fmt.Errorf("freeze guard: %w", err)
	}
	child, unpin, err := r.deps.start(spec)
	if ready != nil {
		r.awaitReady(spec, ready, err == nil)
	}
	if err != nil {
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

// retryStopEvery is the pause between attempts to stop a tree that
// survived its SIGKILL (a process in uninterruptible sleep on a dead mount).
const retryStopEvery = time.Second

// stop stops the child tree, with SIGKILL early enough that it is confirmed
// dead by deadline. A graceful stop turns into SIGKILL at once when
// ZooKeeper says meanwhile that the lock is gone. A tree that survives is
// tried again as long as our lease holds: the lock is not given up while
// something of the child may still write.
func (r *run) stop(child Child, deadline time.Time, policy supervise.StopPolicy) error {
	for {
		err := r.stopOnce(child, deadline, policy)
		if err == nil {
			r.childDead = true
			r.disarmFreezeGuard()
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
		r.sleep(retryStopEvery)
		deadline = r.clock.Now().Add(r.cfg.StopTime())
	}
}

// stopOnce is one child.Stop: SIGKILL at once when ZooKeeper already says
// the lock is gone (childExited's and a retry's policy is graceful), and a
// grace that ends at once when the lock is found gone meanwhile.
func (r *run) stopOnce(child Child, deadline time.Time, policy supervise.StopPolicy) error {
	// The deadline is a time of the run's clock; the child's Stop counts
	// in real time, so it gets the duration.
	ctx, cancel := context.WithTimeout(context.Background(), deadline.Sub(r.clock.Now()))
	defer cancel()
	if r.lockGone() { // whoever chose policy, another holder may exist now
		policy = supervise.StopPolicy{Signal: syscall.SIGKILL}
	}
	if policy.Signal != syscall.SIGKILL {
		go func() {
			select {
			case <-r.lease.Gone(): // at once, or later: after a deadline, ZooKeeper may still say so
				cancel() // Stop sends SIGKILL when its ctx ends
			case <-ctx.Done():
			}
		}()
	}
	return child.Stop(ctx, policy)
}

func (r *run) sleep(d time.Duration) {
	t := r.clock.NewTimer(d)
	defer t.Stop()
	<-t.C()
}

// stopOnLoss stops the child because cause (kind "lock", "mount" or
// "fenced") says it may no longer run, and returns cause.
//
// Processes started under the lock (backups) are killed first. The stop is
// graceful (stop signal, grace, SIGKILL) while nobody else can hold the lock
// yet. When ZooKeeper says the lock is already gone (node deleted or not
// ours, session expired or replaced), when the volume names a newer holder,
// or past KillBy (a process that thawed after a freeze), another holder may
// own the data now: a graceful shutdown would write to it (PostgreSQL writes
// a shutdown checkpoint), so the tree gets SIGKILL at once. The log line
// comes after the action.
func (r *run) stopOnLoss(child Child, kind string, cause error) error {
	r.endLease(cause)
	killBy := r.lease.KillBy()
	policy := r.gracefulStop()
	if kind == "fenced" || r.lockGone() || !r.clock.Now().Before(killBy) {
		policy = supervise.StopPolicy{Signal: syscall.SIGKILL}
	}
	began := r.clock.Now()
	err := r.stop(child, killBy, policy)
	r.cfg.Health.Stopping(kind, cause)
	r.log.Warn("child stopped", "cause", cause, "pid", child.Pid(), "signal", supervise.SignalName(policy.Signal),
		"took", r.clock.Now().Sub(began).Round(time.Millisecond), "margin_to_kill_by", killBy.Sub(r.clock.Now()).Round(time.Millisecond),
		"confirmed_dead", err == nil)
	if err != nil {
		r.log.Error("child tree NOT confirmed dead by the lease deadline", "err", err)
		return errors.Join(cause, fmt.Errorf("%w: %v", ErrStopFailed, err))
	}
	return cause
}

// childExited stops whatever the child left behind (daemonized
// grandchildren) and passes the child's code on; cleanup then releases the
// lock at once.
func (r *run) childExited(child Child) error {
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
func (r *run) fenceValid() bool { return !r.lease.Overdue() && r.underLease.Err() == nil }

// startKeeper starts the heartbeat on the fence records.
func (r *run) startKeeper() {
	if r.claim == nil {
		return
	}
	r.keeper = fence.Keep(r.guarded.Roots(), *r.claim, r.cfg.Budget.Heartbeat, r.fenceValid, r.clock, r.log)
}
