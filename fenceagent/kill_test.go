package fenceagent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zkfence/zkfence/internal/fstest"
)

// hangHook: the agent ignores SIGTERM, starts a helper in its process
// group that ignores it too, records both pids and waits forever.
const hangHook = `trap '' TERM
echo $$ > "$dir/leader"
sleep 300 &
echo $! > "$dir/helper"
wait
`

// alive says whether pid can still run code of its own: gone, a zombie
// waiting for its reaper, or a process with SIGKILL pending (the kernel
// ends it before it returns to user space) are dead, as in the chaos
// suite's observer.
func alive(t *testing.T, pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if os.IsNotExist(err) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, v, _ := strings.Cut(line, ":")
		v = strings.TrimSpace(v)
		switch name {
		case "State":
			if strings.HasPrefix(v, "Z") || strings.HasPrefix(v, "X") {
				return false
			}
		case "SigPnd", "ShdPnd":
			if mask, err := strconv.ParseUint(v, 16, 64); err == nil && mask&(1<<(9-1)) != 0 {
				return false
			}
		}
	}
	return true
}

func (f *fake) pid(name string) int {
	f.t.Helper()
	pid := fstest.PidFile(filepath.Join(f.dir, name))
	if pid == 0 {
		f.t.Fatalf("the agent did not record its %s", name)
	}
	return pid
}

// assertGroupDead checks, right when the call returned, that the agent and
// its helper are dead.
func (f *fake) assertGroupDead() {
	f.t.Helper()
	for _, name := range []string{"leader", "helper"} {
		if pid := f.pid(name); alive(f.t, pid) {
			f.t.Errorf("the agent's %s (pid %d) outlived the call", name, pid)
		}
	}
}

func TestHungAgentKilledAtTimeout(t *testing.T) {
	f, a := newFake(t)
	f.hook("off", hangHook)
	a.Timeout = time.Second
	start := time.Now()
	err := a.Off(context.Background(), "node-1")
	took := time.Since(start)
	f.assertGroupDead()
	if !errors.Is(err, ErrFenceFailed) || !errors.Is(err, ErrTimeout) {
		t.Fatalf("Off = %v, want ErrFenceFailed and ErrTimeout", err)
	}
	// The kill is sent at the deadline; what follows is reaping and the
	// bounded wait for the pipes.
	if took < time.Second || took > time.Second+pipeWaitDelay+500*time.Millisecond {
		t.Fatalf("Off returned after %s with a 1s timeout", took)
	}
	t.Logf("hung agent: Off returned %s after its start, timeout 1s", took.Round(time.Millisecond))
}

func TestHungAgentKilledAtCallersDeadline(t *testing.T) {
	f, a := newFake(t)
	f.hook("off", hangHook)
	a.Timeout = 30 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := a.Off(ctx, "node-1")
	took := time.Since(start)
	f.assertGroupDead()
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Off = %v", err)
	}
	if took > 400*time.Millisecond+pipeWaitDelay+500*time.Millisecond {
		t.Fatalf("Off returned after %s with a 400ms deadline", took)
	}
}

func TestHungAgentKilledOnCancel(t *testing.T) {
	f, a := newFake(t)
	f.hook("off", hangHook)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	err := a.Off(ctx, "node-1")
	took := time.Since(start)
	f.assertGroupDead()
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) || !errors.Is(err, ErrFenceFailed) {
		t.Fatalf("Off = %v, want context.Canceled", err)
	}
	if took > 300*time.Millisecond+pipeWaitDelay+500*time.Millisecond {
		t.Fatalf("Off returned %s after start, cancelled at 300ms", took)
	}
}

// An agent that exits at once but leaves a helper in its group: the helper
// dies when the agent's call returns.
func TestHelperLeftBehindIsKilled(t *testing.T) {
	f, a := newFake(t)
	f.hook("off", `echo $$ > "$dir/leader"; (trap '' TERM; exec sleep 300) & echo $! > "$dir/helper"`)
	f.codes("status", 2)
	if err := a.Off(context.Background(), "node-1"); err != nil {
		t.Fatal(err)
	}
	f.assertGroupDead()
}

func TestHungStatusNotConfirmed(t *testing.T) {
	f, a := newFake(t)
	f.hook("status", hangHook)
	a.Timeout = time.Second
	start := time.Now()
	err := a.Off(context.Background(), "node-1")
	f.assertGroupDead()
	if !errors.Is(err, ErrNotConfirmed) || !errors.Is(err, ErrTimeout) || !errors.Is(err, ErrFenceFailed) {
		t.Fatalf("Off = %v", err)
	}
	if took := time.Since(start); took > time.Second+pipeWaitDelay+500*time.Millisecond {
		t.Fatalf("Off took %s", took)
	}
}
