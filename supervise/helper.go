package supervise

import (
	"os"

	"golang.org/x/sys/unix"
)

// helpers tells the wrapper's own helper processes from the supervised tree
// (S3; see the package documentation for why this rule). A helper is a
// direct child of the wrapper that is
//
//   - a process the wrapper holds a pidfd for: one that os/exec (or
//     os.StartProcess) started and has not waited for yet, whatever its
//     process group (the run pipeline's backup tools have their own);
//   - one of the wrapper's children at Start, named by pid and start time;
//   - in the wrapper's own process group.
//
// Everything else below the wrapper is the tree. A helper's descendants are
// not in the tree either: they are below the helper.
type helpers struct {
	main   int            // the main child: never a helper
	group  int            // the wrapper's process group (0 when it is outside the wrapper's PID namespace)
	before map[int]uint64 // the wrapper's children at Start: pid -> start time
}

// snapshotHelpers records the wrapper's process group and current children.
// Start calls it just before the fork.
func snapshotHelpers() (*helpers, error) {
	procs, err := listProcs()
	if err != nil {
		return nil, err
	}
	h := &helpers{group: unix.Getpgrp(), before: map[int]uint64{}}
	self := os.Getpid()
	for _, p := range procs {
		if p.ppid == self {
			h.before[p.pid] = p.start
		}
	}
	return h, nil
}

// classifier applies the rule to the children found in one look at the
// process table. It reads the wrapper's pidfds at most once, and only for a
// child that nothing cheaper settles; it must be made after that look, so
// that every child seen has its pidfd already (it exists from the clone).
type classifier struct {
	*helpers
	// mainLive: the main child is unreaped, so its group id cannot have been
	// reused and every process in that group is of the tree.
	mainLive bool
	held     map[int]bool // nil until read
}

// is reports whether p, a direct child of the wrapper, is a helper.
func (k *classifier) is(p procStat) bool {
	switch {
	case p.pid == k.main:
		return false
	case p.pgid == k.group:
		return true
	case k.mainLive && p.pgid == k.main:
		return false
	}
	if start, ok := k.before[p.pid]; ok && start == p.start {
		return true
	}
	if k.held == nil {
		k.held = heldPidfds()
	}
	return k.held[p.pid]
}

// isPid is is for a pid the reaper's peek returned. A pid that is gone (a
// helper its Wait has just reaped) reads as a helper: there is nothing to
// reap.
func (k *classifier) isPid(pid int) bool {
	if pid == k.main {
		return false
	}
	st, err := readStat(pid)
	return err != nil || k.is(st)
}
