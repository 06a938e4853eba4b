package deadman

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

const attackHelperEnv = "DEADMAN_ATTACK_ARM_HELPER"

// A freeze (or a long preemption) between the reading of the clock and the
// timer_settime call must not push the kill later (issue 15, item 7): the
// timer is set at an absolute CLOCK_BOOTTIME time, so a deadline that passed
// meanwhile fires at once. With a relative timer the process wakes from the
// freeze with a full d still to run: the wrapper, and with it the child it
// guards, runs user-space code past the lease's kill deadline, while another
// node may hold the lock.
//
// The helper arms a switch 100 ms ahead with a 500 ms stall before the
// settime, then says "ran past the deadline" if Arm returned at all.
func TestAttackArmIsAbsolute(t *testing.T) {
	if os.Getenv(attackHelperEnv) == "1" {
		sw, err := New()
		if err != nil {
			os.Stdout.WriteString("new: " + err.Error() + "\n")
			os.Exit(3)
		}
		deadline := time.Now().Add(100 * time.Millisecond)
		beforeSettime = func() { time.Sleep(500 * time.Millisecond) }
		if err := sw.Arm(func() time.Time { return deadline }); err != nil {
			os.Stdout.WriteString("arm: " + err.Error() + "\n")
			os.Exit(3)
		}
		os.Stdout.WriteString("ran past the deadline by " + time.Since(deadline).Round(time.Millisecond).String() + "\n")
		time.Sleep(2 * time.Second)
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAttackArmIsAbsolute$")
	cmd.Env = append(os.Environ(), attackHelperEnv+"=1")
	out, err := cmd.Output()
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if strings.Contains(string(out), "ran past the deadline") {
		t.Fatalf("the guarded process %s (the timer was set relative to a clock read before the stall)",
			strings.TrimSpace(string(out)))
	}
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("helper ended with %v, output %q; want SIGKILL", err, out)
	}
}
