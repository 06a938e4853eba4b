package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// fastFlags: T 6s, tickTime 200ms, syncLimit 2, h 200ms, grace 500ms. The
// stop begins 2.23s after the last renewal; the child is dead by 3.73s.
var fastFlags = []string{
	"--session-timeout", "6s", "--zk-tick-time", "200ms", "--zk-sync-limit", "2",
	"--heartbeat", "200ms", "--stop-grace", "500ms", "--log-format", "json",
}

// wrapper is one running `zkfence run` whose JSON log is parsed as it comes.
type wrapper struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs []logLine
	done chan struct{}
	// exitedAt is when Wait returned; read it only after done is closed.
	exitedAt time.Time
}

type logLine struct {
	Time time.Time `json:"time"`
	Msg  string    `json:"msg"`
	PID  int       `json:"pid"`
}

func startWrapper(bin, zk, lock string, env []string, child ...string) (*wrapper, error) {
	return startWrapperFlags(bin, zk, lock, env, nil, child...)
}

// startWrapperFlags is startWrapper with extra zkfence flags.
func startWrapperFlags(bin, zk, lock string, env, flags []string, child ...string) (*wrapper, error) {
	args := append(append([]string{"run", "--zk", zk, "--lock", lock}, fastFlags...), flags...)
	cmd := exec.Command(bin, append(append(args, "--"), child...)...)
	cmd.Env = append(os.Environ(), env...)
	return startLogParsed(cmd)
}

// startLogParsed starts cmd and parses its stderr as zkfence's JSON log.
func startLogParsed(cmd *exec.Cmd) (*wrapper, error) {
	w := &wrapper{cmd: cmd, done: make(chan struct{})}
	stderr, err := w.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := w.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var l logLine
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				w.mu.Lock()
				w.logs = append(w.logs, l)
				w.mu.Unlock()
			}
		}
		w.cmd.Wait()
		w.exitedAt = time.Now()
		close(w.done)
	}()
	return w, nil
}

// waitLog returns the time of the first log line with message msg.
func (w *wrapper) waitLog(msg string, d time.Duration) (time.Time, error) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		w.mu.Lock()
		for _, l := range w.logs {
			if l.Msg == msg {
				w.mu.Unlock()
				return l.Time, nil
			}
		}
		w.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var last []string
	for _, l := range w.logs[max(0, len(w.logs)-5):] {
		last = append(last, l.Msg)
	}
	return time.Time{}, fmt.Errorf("no %q log line within %v; last lines: %s", msg, d, strings.Join(last, " | "))
}

// stop ends the wrapper, politely first.
func (w *wrapper) stop() {
	w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		w.cmd.Process.Kill()
		<-w.done
	}
}

// readNanos waits for a file holding `date +%s%N` and returns the instant.
func readNanos(path string, d time.Duration) (time.Time, error) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && strings.HasSuffix(string(b), "\n") {
			ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("%s: %w", path, err)
			}
			return time.Unix(0, ns), nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Time{}, fmt.Errorf("%s not written within %v", path, d)
}

// childDeath waits up to d for the wrapper's account of its child's death:
// the "child stopped" line, or, when the freeze guard's kernel timer
// SIGKILLed zkfence at D_kill because it could not stop the child in time
// (a loaded machine), the instant the bench saw zkfence die; the kernel
// kills the child's PID namespace with it. byGuard says which.
func (w *wrapper) childDeath(d time.Duration) (at time.Time, byGuard bool, err error) {
	deadline := time.Now().Add(d)
	for {
		if t, err := w.waitLog("child stopped", 5*time.Millisecond); err == nil {
			return t, false, nil
		}
		select {
		case <-w.done:
			if t, err := w.waitLog("child stopped", 50*time.Millisecond); err == nil {
				return t, false, nil // the line was still in the pipe
			}
			if ws, ok := w.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
				return w.exitedAt, true, nil
			}
			return time.Time{}, false, fmt.Errorf("zkfence exited (%v) without stopping its child", w.cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			_, err := w.waitLog("child stopped", 0)
			return time.Time{}, false, err
		}
	}
}
