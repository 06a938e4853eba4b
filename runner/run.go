package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/zkfence/zkfence/internal/clock"
	"github.com/zkfence/zkfence/lock"
	"github.com/zkfence/zkfence/supervise"
)

// releaseTimeout bounds the deletion of our lock node after the child is
// gone. If ZooKeeper does not answer in time the node still goes with the
// session, which is closed right after (or expires).
const releaseTimeout = 5 * time.Second

// run is the state of one `zkfence run`.
type run struct {
	cfg   Config
	log   *slog.Logger
	sigs  <-chan os.Signal
	sess  *lock.Session
	lease *lock.Lease
}

// Run takes the lock, starts the child, watches, and stops the child and
// releases the lock when the first thing goes wrong. It returns nil when the
// child exited 0 by itself, *ChildExit for any other exit of the child, and
// otherwise an error wrapping one of the package's sentinel errors.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	sigs, stopSignals := supervise.Signals()
	defer stopSignals()
	if err := supervise.BecomeSubreaper(); err != nil {
		cfg.Logger.Warn("cannot become a child subreaper; orphaned grandchildren will not be reaped", "err", err)
	}
	r := &run{cfg: cfg, log: cfg.Logger, sigs: sigs}
	if err := r.acquire(ctx); err != nil {
		return err
	}
	child, err := r.startChild()
	if err != nil {
		r.release()
		return err
	}
	return r.watch(child)
}

// acquire waits for the lock while staying responsive to signals: a
// terminating signal ends the wait, and the run, without starting anything.
func (r *run) acquire(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.lock(ctx) }()
	for {
		select {
		case err := <-done:
			return err
		case sig := <-r.sigs:
			s, _ := sig.(syscall.Signal)
			if !terminating(s) {
				r.log.Info("signal ignored while waiting for the lock", "signal", sig)
				continue
			}
			r.log.Info("stopping before the child started", "signal", sig)
			cancel()
			if err := <-done; err == nil {
				r.release() // acquired just as the signal came
			}
			return &Interrupted{Signal: s}
		}
	}
}

// lock dials ZooKeeper and queues for the lock, starting over with a new
// session if the one it waits with is lost. It ends only with the lock held,
// a refused configuration, or ctx done.
func (r *run) lock(ctx context.Context) error {
	backoff := time.Second
	for {
		sess, err := lock.Dial(ctx, r.cfg.ZK)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrNotAcquired, err)
		}
		budget, err := r.negotiatedBudget(sess)
		if err != nil {
			sess.Close()
			return err
		}
		held, err := sess.Acquire(ctx, lock.AcquireOptions{
			Path: r.cfg.LockPath,
			Data: lock.Self(r.cfg.Version).Encode(),
			OnWait: func(w lock.Waiting) {
				r.log.Info("waiting for the lock", "lock", r.cfg.LockPath, "ahead", w.Ahead, "watching", w.Predecessor)
			},
		})
		if err == nil {
			r.sess = sess
			r.lease = sess.NewLease(held, budget, r.cfg.Clock, held.Confirmed)
			r.log.Info("lock acquired", "lock", r.cfg.LockPath, "token", held.Token, "node", held.Node,
				"stop_after", budget.StopAfter().Round(time.Millisecond), "kill_by", budget.KillBy().Round(time.Millisecond))
			return nil
		}
		sess.Close()
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %v", ErrNotAcquired, ctx.Err())
		}
		r.log.Warn("lost the zookeeper session while waiting for the lock; starting over", "err", err, "retry_in", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return fmt.Errorf("%w: %v", ErrNotAcquired, ctx.Err())
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// negotiatedBudget checks the budget again with the timeout the server
// granted, which may be smaller than the one requested.
func (r *run) negotiatedBudget(sess *lock.Session) (lock.Budget, error) {
	negotiated := sess.NegotiatedTimeout()
	b := r.cfg.budget(negotiated)
	if negotiated < r.cfg.ZK.SessionTimeout {
		r.log.Warn("zookeeper granted a shorter session timeout than requested",
			"requested", r.cfg.ZK.SessionTimeout, "negotiated", negotiated)
	}
	if err := b.Validate(); err != nil {
		return b, fmt.Errorf("%w: with the negotiated session timeout %s (requested %s): %v",
			ErrRefused, negotiated, r.cfg.ZK.SessionTimeout, err)
	}
	return b, nil
}

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
	child, err := supervise.Start(supervise.Spec{
		Argv: r.cfg.Command, Env: env, User: r.cfg.User, Group: r.cfg.Group, SignalMap: r.cfg.SignalMap,
	})
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", r.cfg.Command[0], err)
	}
	r.log.Info("child started", "pid", child.Pid(), "command", strings.Join(r.cfg.Command, " "), "token", r.lease.Token())
	return child, nil
}

// watch waits for the first of: lease lost, child exit, signal.
func (r *run) watch(child *supervise.Child) error {
	for {
		if r.lease.Overdue() { // first, always: see the package doc
			return r.stopOnLoss(child, lock.ErrLeaseDeadline)
		}
		select {
		case <-r.lease.Lost():
			return r.stopOnLoss(child, r.lease.Err())
		case <-child.Done():
			return r.childExited(child)
		case sig := <-r.sigs:
			r.log.Info("forwarding signal", "signal", sig, "pid", child.Pid())
			child.Forward(sig)
		}
	}
}

// stopOnLoss stops the child tree so that it is dead by the lease's KillBy,
// then releases what is left of the lock.
func (r *run) stopOnLoss(child *supervise.Child, cause error) error {
	killBy := r.lease.KillBy()
	r.log.Warn("lease lost; stopping the child", "cause", cause, "pid", child.Pid(),
		"kill_by_in", time.Until(killBy).Round(time.Millisecond))
	ctx, cancel := context.WithDeadline(context.Background(), killBy)
	defer cancel()
	err := child.Stop(ctx, supervise.StopPolicy{Signal: r.cfg.StopSignal, Grace: r.cfg.StopGrace})
	if err != nil {
		r.log.Error("child tree NOT confirmed dead by the lease deadline", "err", err)
	} else {
		r.log.Info("child stopped", "margin_to_kill_by", time.Until(killBy).Round(time.Millisecond))
	}
	r.release()
	if err != nil {
		return errors.Join(fmt.Errorf("%w: %v", ErrLockLost, cause), fmt.Errorf("%w: %v", ErrStopFailed, err))
	}
	return fmt.Errorf("%w: %v", ErrLockLost, cause)
}

// childExited releases the lock at once and passes the child's code on.
func (r *run) childExited(child *supervise.Child) error {
	code := child.ExitCode()
	r.log.Info("child exited", "pid", child.Pid(), "code", code)
	// Stop whatever the child left behind (daemonized grandchildren).
	ctx, cancel := context.WithDeadline(context.Background(), r.lease.KillBy())
	err := child.Stop(ctx, supervise.StopPolicy{Signal: r.cfg.StopSignal, Grace: r.cfg.StopGrace})
	cancel()
	if err != nil {
		r.log.Error("descendants of the child NOT confirmed dead", "err", err)
	}
	r.release()
	if code == 0 {
		return nil
	}
	return &ChildExit{Code: code}
}

// release deletes our lock node and closes the session.
func (r *run) release() {
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	if err := r.sess.Release(ctx, r.lease); err != nil {
		r.log.Warn("lock node not deleted; it goes with the session", "err", err)
		return
	}
	r.log.Info("lock released", "lock", r.cfg.LockPath)
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

func terminating(s syscall.Signal) bool {
	return s == syscall.SIGTERM || s == syscall.SIGINT || s == syscall.SIGQUIT
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
