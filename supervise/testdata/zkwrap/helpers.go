package main

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
)

// helperConfig holds the helper commands zkwrap runs beside the child.
type helperConfig struct {
	before, during string // sh -c scripts; "" for none
	loop           int    // how many sh -c 'exit 3' to run while the child runs
}

// helperRuns are the helpers started so far.
type helperRuns struct {
	before int       // pid, 0 for none
	during *exec.Cmd // nil for none
	loop   sync.WaitGroup
}

// startBefore starts the -before helper with a bare fork and exec, in a
// process group of its own: no pidfd, not in zkwrap's group, so that only
// Start's snapshot of zkwrap's children tells it from the tree.
func startBefore(hc helperConfig) *helperRuns {
	h := &helperRuns{}
	if hc.before == "" {
		return h
	}
	pid, err := syscall.ForkExec("/bin/sh", []string{"sh", "-c", hc.before}, &syscall.ProcAttr{
		Env: os.Environ(), Files: []uintptr{0, 1, 2}, Sys: &syscall.SysProcAttr{Setpgid: true},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "zkwrap: before: %v\n", err)
		return h
	}
	h.before = pid
	return h
}

// startDuring starts the -during helper and the -loop, once the child runs.
// The -during helper is started as the run pipeline starts its backup tools:
// os/exec, in a process group of its own.
func (h *helperRuns) startDuring(hc helperConfig) {
	if hc.during != "" {
		cmd := exec.Command("sh", "-c", hc.during)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			fmt.Fprintf(os.Stderr, "zkwrap: during: %v\n", err)
		} else {
			h.during = cmd
		}
	}
	if hc.loop > 0 {
		h.loop.Add(1)
		go func() {
			defer h.loop.Done()
			fmt.Fprintf(os.Stderr, "zkwrap: loop: %s\n", loop(hc.loop))
		}()
	}
}

// loop runs sh -c 'exit 3' n times, every other one in a process group of
// its own, and says how it went.
func loop(n int) string {
	for i := 0; i < n; i++ {
		cmd := exec.Command("sh", "-c", "exit 3")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: i%2 == 1}
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
			return fmt.Sprintf("run %d: %v", i+1, err)
		}
	}
	return fmt.Sprintf("%d/%d exit 3", n, n)
}

// wait waits for every helper and prints how each one ended.
func (h *helperRuns) wait() {
	h.loop.Wait()
	if h.before != 0 {
		var ws syscall.WaitStatus
		_, err := syscall.Wait4(h.before, &ws, 0, nil)
		switch {
		case err != nil:
			fmt.Fprintf(os.Stderr, "zkwrap: before: wait: %v\n", err)
		case ws.Signaled():
			fmt.Fprintf(os.Stderr, "zkwrap: before: signal: %v\n", ws.Signal())
		default:
			fmt.Fprintf(os.Stderr, "zkwrap: before: exit status %d\n", ws.ExitStatus())
		}
	}
	if h.during != nil {
		if err := h.during.Wait(); err != nil {
			fmt.Fprintf(os.Stderr, "zkwrap: during: %v\n", err)
		} else {
			fmt.Fprintln(os.Stderr, "zkwrap: during: exit status 0")
		}
	}
}
