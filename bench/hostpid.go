package main

// Host pids. Every pid the bench acts on (waits for, signals, samples) is a
// pid of the bench's own PID namespace. A child's word for its own pid is
// not: under zkfence's freeze guard the child runs in a PID namespace of its
// own, where its pid is a small number (2, 3, ...) that on the host names
// some unrelated process. So the bench finds a child by its program (argv[0])
// and a marker it put on the child's command line (a path unique to the
// trial), reading /proc as the bench sees it, and checks both again before
// it trusts that pid later: a pid can be reused once its process is gone.
// The program matters: zkfence, its nsinit and etcdctl carry the child's
// arguments, marker included, on their own command lines.

import (
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/shirou/gopsutil/v3/process"
)

// hostProc is a process found by its program and a marker on its command
// line.
type hostProc struct {
	pid    int
	argv0  string
	marker string
}

// findByMarker waits up to d for exactly one live process running argv0
// whose command line has marker as one of its arguments, and returns it.
func findByMarker(argv0, marker string, d time.Duration) (hostProc, error) {
	deadline := time.Now().Add(d)
	for {
		pids, err := withMarker(argv0, marker)
		if err != nil {
			return hostProc{}, err
		}
		switch {
		case len(pids) == 1:
			return hostProc{pid: pids[0], argv0: argv0, marker: marker}, nil
		case len(pids) > 1:
			return hostProc{}, fmt.Errorf("%d processes carry the marker %s: %v", len(pids), marker, pids)
		case time.Now().After(deadline):
			return hostProc{}, fmt.Errorf("no process with the marker %s within %v", marker, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// withMarker lists the live (not zombie) processes of argv0 with marker
// among their arguments. Zombies have an empty command line: not listed.
func withMarker(argv0, marker string) ([]int, error) {
	pids, err := process.Pids()
	if err != nil {
		return nil, err
	}
	var found []int
	for _, pid := range pids {
		if (hostProc{pid: int(pid), argv0: argv0, marker: marker}).alive() {
			found = append(found, int(pid))
		}
	}
	return found, nil
}

// alive reports whether the process still exists, is not a zombie, and
// still runs argv0 with the marker (so a reused pid does not count).
func (h hostProc) alive() bool {
	p := &process.Process{Pid: int32(h.pid)}
	args, err := p.CmdlineSlice()
	if err != nil || len(args) == 0 || args[0] != h.argv0 || !hasArg(args[1:], h.marker) {
		return false
	}
	st, err := p.Status()
	return err == nil && !(len(st) > 0 && st[0] == process.Zombie)
}

func hasArg(args []string, marker string) bool {
	for _, a := range args {
		if a == marker || strings.HasSuffix(a, "="+marker) {
			return true
		}
	}
	return false
}

// kill SIGKILLs the process, and its process group when it leads one (as
// the bench's own pids see it). It does nothing when the marker is gone.
func (h hostProc) kill() {
	if h.pid <= 1 || !h.alive() {
		return
	}
	if pgid, err := syscall.Getpgid(h.pid); err == nil && pgid == h.pid {
		syscall.Kill(-pgid, syscall.SIGKILL)
		return
	}
	syscall.Kill(h.pid, syscall.SIGKILL)
}
