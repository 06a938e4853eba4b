package supervise

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"syscall"

	"github.com/shirou/gopsutil/v3/process"
	"golang.org/x/sys/unix"
)

// proc is one process of the tree as seen in one scan of the process table.
type proc struct{ pid, ppid int }

// scanTree lists every descendant of root in the process table, parents
// before children (S3). A process that exits during the scan is left out; one
// created during it is found by the next scan.
func scanTree(root int) ([]proc, error) {
	pids, err := process.Pids()
	if err != nil {
		return nil, fmt.Errorf("read process table: %w", err)
	}
	kids := map[int][]int{}
	for _, pid := range pids {
		ppid, err := (&process.Process{Pid: pid}).Ppid()
		if err != nil {
			continue // exited since the listing
		}
		kids[int(ppid)] = append(kids[int(ppid)], int(pid))
	}
	var tree []proc
	for queue := []int{root}; len(queue) > 0; queue = queue[1:] {
		for _, k := range kids[queue[0]] {
			tree = append(tree, proc{pid: k, ppid: queue[0]})
			queue = append(queue, k)
		}
	}
	return tree, nil
}

// signalProc sends sig to p through a pidfd (os.FindProcess pins the process),
// and only if, once pinned, its parent is still the one the scan saw or the
// wrapper (it was orphaned meanwhile): a pid recycled since the scan is not
// hit (S2). Errors mean the process is gone and are ignored.
func signalProc(p proc, sig syscall.Signal) {
	h, err := os.FindProcess(p.pid)
	if err != nil {
		return
	}
	defer h.Release()
	ppid, err := (&process.Process{Pid: int32(p.pid)}).Ppid()
	if err != nil || (int(ppid) != p.ppid && int(ppid) != os.Getpid()) {
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
		st, err := (&process.Process{Pid: int32(p.pid)}).Status()
		state := "gone"
		if err == nil && len(st) > 0 {
			state = st[0]
		}
		e.Pids = append(e.Pids, p.pid)
		e.States = append(e.States, state)
	}
	return e
}
