package fenceagent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// maxOutput bounds what is kept of an agent's stdout and stderr for
	// errors and logs: its last lines say why it failed.
	maxOutput = 4 << 10
	// maxMetadata bounds the metadata XML (fence_docker's is 10 kB).
	maxMetadata = 1 << 20
	// pipeWaitDelay bounds the wait for output pipes that a helper outside
	// the agent's process group still holds after the agent died.
	pipeWaitDelay = 200 * time.Millisecond
)

// result is one run of the agent.
type result struct {
	code   int    // the exit code
	output string // the end of stdout and stderr, secrets redacted
	stdout []byte // all of stdout, when asked for (metadata)
	took   time.Duration
}

// run runs the agent once for action (and plug, when not empty) and waits
// for it. When ctx ends first, the agent's whole process group is killed
// and the error wraps ErrTimeout (deadline) or context.Canceled. A non-zero
// exit is not an error here: each action judges its codes.
func (a *Agent) run(ctx context.Context, action, plug string, keepStdout bool) (result, error) {
	input, secrets, err := a.input(action, plug)
	if err != nil {
		return result{}, err
	}
	if err := ctx.Err(); err != nil {
		return result{}, stopped(ctx, action)
	}
	tail := &tailBuffer{max: maxOutput}
	cmd := exec.Command(a.Path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(input), tail, tail
	var full *tailBuffer
	if keepStdout {
		full = &tailBuffer{max: maxMetadata}
		cmd.Stdout = &teeWriter{full, tail}
	}
	cmd.Dir = "/"
	cmd.Env = agentEnv(os.Environ())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = pipeWaitDelay
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return result{}, fmt.Errorf("%w: start %s: %v", ErrAgentFailed, a.Path, err)
	}
	waitGroupDead(ctx, cmd.Process.Pid)
	waitErr := cmd.Wait()
	r := result{took: time.Since(start), output: redact(tail.String(), secrets)}
	if full != nil {
		r.stdout = full.b
	}
	if ctx.Err() != nil {
		return r, stopped(ctx, action)
	}
	if cmd.ProcessState == nil {
		return r, fmt.Errorf("%w: %s action=%s: %v", ErrAgentFailed, a.Path, action, waitErr)
	}
	r.code = cmd.ProcessState.ExitCode()
	a.log().Debug("fence agent ran", "action", action, "plug", plug, "exit", r.code,
		"took", r.took.Round(time.Millisecond), "output", lastLines(r.output, 3))
	if r.code < 0 {
		return r, fmt.Errorf("%w: %s action=%s: %v", ErrAgentFailed, a.Path, action, cmd.ProcessState)
	}
	return r, nil
}

// waitGroupDead returns once the agent (the leader of process group pid)
// has exited and its group was swept with SIGKILL. When ctx ends first the
// group is killed at once. The leader is waited for without being reaped
// (WNOWAIT): as long as it is a zombie, its pid, and so the group id, cannot
// be reused, and the kills cannot hit a stranger.
func waitGroupDead(ctx context.Context, pid int) {
	exited := make(chan struct{})
	watcherDone := make(chan struct{})
	go func() {
		defer close(watcherDone)
		select {
		case <-ctx.Done():
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		case <-exited:
		}
	}()
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	close(exited)
	<-watcherDone
	_ = syscall.Kill(-pid, syscall.SIGKILL) // ESRCH: nothing was left
}

// agentEnv is zkfence's environment without its own ZKFENCE_* settings,
// which hold ZooKeeper credentials (ZKFENCE_ZK_AUTH) and the fence options
// themselves: the agent gets its options on stdin. The rest stays, because
// agents read their SDKs' variables (AWS_PROFILE for fence_aws's boto3,
// HOME for ssh's keys).
func agentEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, "ZKFENCE_") {
			out = append(out, kv)
		}
	}
	return out
}

// stopped is the error of an agent run that ctx ended.
func stopped(ctx context.Context, action string) error {
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, ErrTimeout):
		return fmt.Errorf("%w: action=%s killed at the fence timeout", ErrTimeout, action)
	case errors.Is(cause, context.DeadlineExceeded):
		return fmt.Errorf("%w: action=%s killed at the caller's deadline: %w", ErrTimeout, action, cause)
	default:
		return fmt.Errorf("action=%s killed: %w", action, cause)
	}
}

// redact replaces every secret in s, longest first.
func redact(s string, secrets []string) string {
	secrets = append([]string(nil), secrets...)
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	for _, v := range secrets {
		if v != "" {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	return s
}

// tailBuffer keeps the last max bytes written to it. When it had to cut,
// the first (partial) line is dropped too, so that a secret cut in two at
// the edge cannot escape redaction.
type tailBuffer struct {
	mu  sync.Mutex // stdout and stderr are copied by two goroutines
	max int
	b   []byte
	cut bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b, t.cut = t.b[over:], true
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.cut {
		return string(t.b)
	}
	_, rest, _ := bytes.Cut(t.b, []byte("\n"))
	return "[...]\n" + string(rest)
}

// teeWriter writes to both.
type teeWriter struct{ a, b *tailBuffer }

func (w *teeWriter) Write(p []byte) (int, error) {
	w.a.Write(p)
	return w.b.Write(p)
}
