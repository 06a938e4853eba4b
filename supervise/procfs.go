package supervise

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

// procDir is the process table. It must be the wrapper's own PID namespace's
// (in a container it is; under unshare --pid, add --mount-proc).
const procDir = "/proc"

// procStat is what the package reads of /proc/PID/stat.
type procStat struct {
	pid, ppid, pgid int
	// state is the state letter (R running, S sleeping, D uninterruptible
	// sleep, Z zombie, T stopped, ...).
	state byte
	// start is the start time in clock ticks after boot: with the pid it
	// names one process for good, so a recycled pid is told apart (S2).
	start uint64
}

// readStat reads /proc/PID/stat. A zombie still has one; a reaped process
// has none (fs.ErrNotExist).
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(procDir + "/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	return parseStat(pid, b)
}

// parseStat parses one /proc/PID/stat line. The command name (field 2) may
// hold spaces and parentheses, so fields are counted from the last ')'.
func parseStat(pid int, b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	// f[0] is field 3 (state), f[1] ppid, f[2] pgrp, f[19] starttime (22).
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %d fields after the command name", pid, len(f))
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgid, err2 := strconv.Atoi(f[2])
	start, err3 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return procStat{}, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	return procStat{pid: pid, ppid: ppid, pgid: pgid, state: f[0][0], start: start}, nil
}

// listProcs reads the whole process table. A process that exits during the
// read is left out; one created during it may be missed (a scan is not
// atomic: callers that need to be sure scan twice).
func listProcs() ([]procStat, error) {
	d, err := os.Open(procDir)
	if err != nil {
		return nil, fmt.Errorf("read process table: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("read process table: %w", err)
	}
	procs := make([]procStat, 0, len(names))
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || pid <= 0 {
			continue // not a process: /proc/self, /proc/meminfo, ...
		}
		if st, err := readStat(pid); err == nil {
			procs = append(procs, st)
		}
	}
	return procs, nil
}

// pidfdMu is held by heldPidfds while it reads the wrapper's fd table and by
// signalProc while it holds a pidfd, so that the pidfds the package opens
// itself (for a moment, on processes of the tree) are never taken for
// os/exec's.
var pidfdMu sync.Mutex

// heldPidfds lists the processes the wrapper holds a pidfd for: the fds whose
// link names a pidfd, and the "Pid:" line of their fdinfo (-1 once the
// process was reaped). os.StartProcess, and so os/exec, holds one for each
// process it starts, from the clone (CLONE_PIDFD) until Wait or Release, on
// Linux 5.4 and later; elsewhere the list is empty.
func heldPidfds() map[int]bool {
	pidfdMu.Lock()
	defer pidfdMu.Unlock()
	held := map[int]bool{}
	d, err := os.Open(procDir + "/self/fd")
	if err != nil {
		return held
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	for _, fd := range names {
		if link, err := os.Readlink(procDir + "/self/fd/" + fd); err != nil || !strings.Contains(link, "pidfd") {
			continue
		}
		info, err := os.ReadFile(procDir + "/self/fdinfo/" + fd)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(info), "\n") {
			if v, ok := strings.CutPrefix(line, "Pid:"); ok {
				if pid, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && pid > 0 {
					held[pid] = true
				}
			}
		}
	}
	return held
}
