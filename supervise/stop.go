package supervise

import (
	"context"
	"syscall"
	"time"
)

// KillWait is how long Stop allows between SIGKILL and confirmation. SIGKILL
// acts at the process's next return to user space; the exit then frees the
// address space (measured here: about 65 ms per GB resident, 4 KiB pages) and
// the reaper sees the exit at the next SIGCHLD, the scan within pollInterval.
// 1 s covers a database of about 15 GB resident. A process still there after
// that is almost always in uninterruptible sleep (a dead NFS server), where
// waiting longer inside the lease budget does not help: Stop reports it. The
// run pipeline budgets K = Grace + KillWait (DESIGN.md, timing budget).
const KillWait = time.Second

// pollInterval is how often Stop scans the process table while it waits: it
// bounds how late Stop notices that the tree is gone.
const pollInterval = 10 * time.Millisecond

// StopPolicy is how Stop asks the tree to go: Signal (SIGTERM when zero; it
// is sent as is, not through the SignalMap), then Grace before SIGKILL.
type StopPolicy struct {
	Signal syscall.Signal
	Grace  time.Duration
}

// Stop stops the whole tree: the process group and every process of the tree
// that left it (S3); the wrapper's helpers are left alone. It sends
// stop.Signal (and SIGCONT, so that a stopped process can act on it, as
// systemd does), waits until the tree is gone or the grace ends — the grace
// is cut short so that SIGKILL is sent no later than ctx's deadline minus
// KillWait, and ends at once when ctx is done — then SIGKILLs everything left
// and waits up to KillWait for confirmation: every pid of the tree gone from
// the process table and the main child reaped (S4, S5).
//
// It returns nil only when everything is confirmed gone, and then ends the
// reaper so that a new Child may start; otherwise a *SurvivorsError (matching
// ErrSurvivors) saying which pids survive. It may be called again after an
// error, and after Done (to stop what the child left behind); after a nil
// return it does nothing.
func (c *Child) Stop(ctx context.Context, stop StopPolicy) error {
	c.stopMu.Lock()
	defer c.stopMu.Unlock()
	if c.finished {
		return nil
	}
	sig := stop.Signal
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	killAt := killTime(ctx, time.Now(), stop.Grace)
	// On a scan error the tree is nil and only the group is signalled; the
	// confirmation below scans again and cannot succeed without a scan.
	tree, _ := c.scan()
	c.signalTree(sig, tree)
	if sig != syscall.SIGKILL && sig != syscall.SIGCONT {
		c.signalTree(syscall.SIGCONT, tree)
	}
	if c.awaitGone(ctx, killAt) {
		return c.finish()
	}
	if err := c.killTree(time.Now().Add(KillWait)); err != nil {
		return err
	}
	return c.finish()
}

// killTime is when SIGKILL is due: after the grace, but no later than ctx's
// deadline minus KillWait.
func killTime(ctx context.Context, now time.Time, grace time.Duration) time.Time {
	at := now.Add(grace)
	if dl, ok := ctx.Deadline(); ok {
		if cut := dl.Add(-KillWait); cut.Before(at) {
			at = cut
		}
	}
	return at
}

// signalTree sends sig to the child's process group while the main child is
// unreaped (S2), and to every process of tree outside that group, so that
// none gets it twice.
func (c *Child) signalTree(sig syscall.Signal, tree []proc) {
	c.mu.Lock()
	grouped := !c.reaped
	if grouped {
		_ = syscall.Kill(-c.pid, sig)
	}
	c.mu.Unlock()
	for _, p := range tree {
		if grouped && pgidOf(p.pid) == c.pid {
			continue
		}
		signalProc(p, sig)
	}
}

// awaitGone waits until the tree is gone (true), or until, or ctx is done
// (false).
func (c *Child) awaitGone(ctx context.Context, until time.Time) bool {
	timer := time.NewTimer(time.Until(until))
	defer timer.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	done := c.done
	for {
		if _, gone, _ := c.gone(); gone {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return false
		case <-tick.C:
		case <-done:
			done = nil
		}
	}
}

// killTree SIGKILLs the tree, again at every poll (a process forked before
// it got SIGKILL is caught by the next scan), until it is confirmed gone or
// deadline passes.
func (c *Child) killTree(deadline time.Time) error {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		tree, gone, err := c.gone()
		if gone {
			return nil
		}
		c.signalTree(syscall.SIGKILL, tree)
		if time.Now().After(deadline) {
			c.mu.Lock()
			reaped := c.reaped
			c.mu.Unlock()
			return survivors(tree, reaped, err)
		}
		<-tick.C
	}
}

// gone scans the tree and reports it gone when the main child was reaped and
// two scans in a row find no process of the tree (S3): a scan is not atomic,
// and a second one closes the window in which a process forked during the
// first was missed (S4).
func (c *Child) gone() ([]proc, bool, error) {
	c.mu.Lock()
	reaped := c.reaped
	c.mu.Unlock()
	tree, err := c.scan()
	if err != nil || len(tree) > 0 || !reaped {
		return tree, false, err
	}
	tree, err = c.scan()
	return tree, err == nil && len(tree) == 0, err
}

// finish ends the reaper once the tree is confirmed gone, and frees the
// process for another Child (S1, S6).
func (c *Child) finish() error {
	close(c.quit)
	<-c.reaperDone
	c.finished = true
	active.Store(false)
	return nil
}
