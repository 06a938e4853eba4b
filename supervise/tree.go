package supervise

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// proc is one process of the tree as seen in one scan of the process table.
type proc struct {
	pid, ppid int
	start     uint64 // start time: with pid, names the process (S2)
}

// scanTree lists the descendants of root in the process table, parents
// before children, leaving out each direct child of root for which skip (if
// not nil) is true, and that child's descendants. A process that exits during
// the scan is left out; one created during it is found by the next scan.
func scanTree(root int, skip func(procStat) bool) ([]proc, error) {
	procs, err := listProcs()
	if err != nil {
		return nil, err
	}
	kids := map[int][]procStat{}
	for _, p := range procs {
		kids[p.ppid] = append(kids[p.ppid], p)
	}
	var tree []proc
	for queue := []int{root}; len(queue) > 0; queue = queue[1:] {
		for _, k := range kids[queue[0]] {
			if queue[0] == root && skip != nil && skip(k) {
				continue
			}
			tree = append(tree, proc{pid: k.pid, ppid: queue[0], start: k.start})
			queue = append(queue, k.pid)
		}
	}
	return tree, nil
}

// scan lists the supervised tree: every descendant of the wrapper but its
// helpers and theirs (S3).
func (c *Child) scan() ([]proc, error) {
	return scanTree(os.Getpid(), c.classifier().is)
}

// classifier is a fresh classifier of the wrapper's children (S3).
func (c *Child) classifier() *classifier {
	c.mu.Lock()
	defer c.mu.Unlock()
	return &classifier{helpers: c.helpers, mainLive: !c.reaped}
}

// signalProc sends sig to p through a pidfd (os.FindProcess pins the process),
// and only if, once pinned, it is still the process the scan saw (same start
// time): a pid recycled since the scan, by a helper or anyone, is not hit
// (S2). Errors mean the process is gone and are ignored. The pidfd is held
// under pidfdMu, so that it is not taken for a helper's (S3).
func signalProc(p proc, sig syscall.Signal) {
	pidfdMu.Lock()
	defer pidfdMu.Unlock()
	h, err := os.FindProcess(p.pid)
	if err != nil {
		return
	}
	defer h.Release()
	if st, err := readStat(p.pid); err != nil || st.start != p.start {
		return
	}
	_ = h.Signal(sig)
}

// pgidOf is p's process group, or -1 when p is gone.
func pgidOf(pid int) int {
	pgid, err := unix.Getpgid(pid)
	if err != nil {
		return -1
	}
	return pgid
}

// SurvivorsError is Stop's error when it could not confirm the tree gone. It
// matches ErrSurvivors with errors.Is.
type SurvivorsError struct {
	// Pids are the processes of the tree still in the process table, with
	// their state letter (D: uninterruptible sleep, Z: zombie, ...).
	Pids   []int
	States []string
	// MainReaped tells whether the main child was reaped.
	MainReaped bool
	// Err is set when the process table could not be read.
	Err error
}

func (e *SurvivorsError) Error() string {
	var b strings.Builder
	b.WriteString("stop: ")
	if e.Err != nil {
		fmt.Fprintf(&b, "cannot confirm the tree gone: %v; ", e.Err)
	}
	if !e.MainReaped {
		b.WriteString("main child not reaped; ")
	}
	fmt.Fprintf(&b, "%d processes survive SIGKILL", len(e.Pids))
	for i, pid := range e.Pids {
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%spid %d (%s)", sep, pid, e.States[i])
	}
	return b.String()
}

func (e *SurvivorsError) Is(target error) bool { return target == ErrSurvivors }
func (e *SurvivorsError) Unwrap() error        { return e.Err }

// survivors describes what is left of tree.
func survivors(tree []proc, mainReaped bool, scanErr error) *SurvivorsError {
	e := &SurvivorsError{MainReaped: mainReaped, Err: scanErr}
	sort.Slice(tree, func(i, j int) bool { return tree[i].pid < tree[j].pid })
	for _, p := range tree {
		state := "gone"
		if st, err := readStat(p.pid); err == nil && st.start == p.start {
			state = string(st.state)
		}
		e.Pids = append(e.Pids, p.pid)
		e.States = append(e.States, state)
	}
	return e
}
