package supervise

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// ErrStrays is wrapped by KillStrays' error when a stray survives.
var ErrStrays = errors.New("processes started under the lock survive SIGKILL")

// KillStrays SIGKILLs and reaps the wrapper's strays: direct children that
// nothing waits for — not a process os/exec started and still waits for (a
// pidfd held), not in the wrapper's own process group. As the child
// subreaper the wrapper inherits every orphan of the processes it starts, so
// a stray is what a helper run under the lock (fsck, a --restore-cmd script,
// a backup tool) left behind when it daemonized (setsid, double fork): the
// group kill of package heldexec does not reach it, and without the freeze
// guard's PID namespace nothing else does.
//
// It scans until two scans in a row find none (a stray that forked before
// its SIGKILL leaves an orphan the next scan finds), or until deadline, and
// then returns an error wrapping ErrStrays naming the survivors. Call it
// only while no Child is live (its reaper owns the tree's processes then).
func KillStrays(deadline time.Time) error {
	if active.Load() {
		return errors.New("supervise: KillStrays while a child is live")
	}
	clean := 0
	for {
		strays, err := findStrays()
		if err != nil {
			return err
		}
		for _, p := range strays {
			signalProc(p, syscall.SIGKILL)
		}
		reapStrays(strays)
		if len(strays) == 0 {
			if clean++; clean == 2 {
				return nil
			}
		} else {
			clean = 0
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: %v", ErrStrays, survivors(strays, true, nil))
		}
		time.Sleep(pollInterval)
	}
}

// findStrays lists the wrapper's direct children that nothing waits for.
func findStrays() ([]proc, error) {
	procs, err := listProcs()
	if err != nil {
		return nil, err
	}
	self, group := os.Getpid(), syscall.Getpgrp()
	var kids []procStat
	for _, p := range procs {
		if p.ppid == self && p.pgid != group {
			kids = append(kids, p)
		}
	}
	if len(kids) == 0 {
		return nil, nil
	}
	held := heldPidfds() // read after the scan: every child seen has its pidfd by now
	var out []proc
	for _, p := range kids {
		if !held[p.pid] {
			out = append(out, proc{pid: p.pid, ppid: self, start: p.start})
		}
	}
	return out, nil
}

// reapStrays reaps those of strays that have exited, without blocking.
func reapStrays(strays []proc) {
	for _, p := range strays {
		var ws syscall.WaitStatus
		_, _ = syscall.Wait4(p.pid, &ws, syscall.WNOHANG, nil)
	}
}
