package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// frozenHolder freezes the holder (SIGSTOP of the wrapper and its child's
// group) longer than the session timeout, lets a contender take over on the
// same volume, then thaws both at once and measures how long the stale
// child ran after the thaw before zkfence confirmed it dead: the thawed
// wrapper must act on its overdue lease before anything else.
func frozenHolder(e *env) ([]row, error) {
	var ran []time.Duration
	for i := 0; i < e.trials; i++ {
		d, err := frozenTrial(e, i)
		if err != nil {
			return nil, fmt.Errorf("trial %d: %w", i, err)
		}
		ran = append(ran, d)
	}
	return []row{{"frozen holder thawed: stale child ran after the thaw, max", ms(maximum(ran)), "as short as possible",
		fmt.Sprintf("median %s; %d trials; frozen 8s with T 6s, the contender took over meanwhile; thaw -> child confirmed dead", ms(median(ran)), len(ran))}}, nil
}

func frozenTrial(e *env, i int) (time.Duration, error) {
	vol := filepath.Join(e.work, fmt.Sprintf("frozen-%d", i))
	if err := os.MkdirAll(vol, 0o755); err != nil {
		return 0, err
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", vol).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("mount tmpfs: %v: %s", err, out)
	}
	defer exec.Command("umount", "-l", vol).Run()
	lock := fmt.Sprintf("/bench/frozen-%d", i)
	a, err := startWrapperFlags(e.zkfence, e.zk.Addr(), lock, nil, []string{"--mount", vol, "--claim-volume", "--lock-delay", "2s"}, "sleep", "3600")
	if err != nil {
		return 0, err
	}
	defer a.stop()
	child, err := a.childPid(20 * time.Second)
	if err != nil {
		return 0, err
	}
	b, err := startWrapperFlags(e.zkfence, e.zk.Addr(), lock, nil, []string{"--mount", vol, "--lock-delay", "2s"}, "sleep", "3600")
	if err != nil {
		return 0, err
	}
	defer b.stop()
	if _, err := b.waitLog("waiting for the lock", 20*time.Second); err != nil {
		return 0, err
	}
	syscall.Kill(a.cmd.Process.Pid, syscall.SIGSTOP)
	syscall.Kill(-child, syscall.SIGSTOP)
	if _, err := b.waitLog("child started", 30*time.Second); err != nil {
		syscall.Kill(a.cmd.Process.Pid, syscall.SIGCONT)
		syscall.Kill(-child, syscall.SIGCONT)
		return 0, err
	}
	time.Sleep(time.Duration(i%5) * 300 * time.Millisecond) // vary the thaw
	syscall.Kill(a.cmd.Process.Pid, syscall.SIGCONT)
	syscall.Kill(-child, syscall.SIGCONT)
	thaw := time.Now()
	dead, err := a.waitLog("child stopped", 20*time.Second)
	if err != nil {
		return 0, err
	}
	return dead.Sub(thaw), nil
}

// childPid waits for the "child started" line and returns its pid.
func (w *wrapper) childPid(d time.Duration) (int, error) {
	if _, err := w.waitLog("child started", d); err != nil {
		return 0, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range w.logs {
		if l.Msg == "child started" {
			return l.PID, nil
		}
	}
	return 0, fmt.Errorf("no child pid")
}
