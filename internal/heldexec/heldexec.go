// Package heldexec starts the processes zkfence runs while it holds the lock
// (fsck, a scripted restore, backup tools, attach and detach commands), so
// that none of them outlives the lock (DESIGN.md, I3: every process zkfence
// started under the lock is dead before another node could be granted it).
//
// Invariants of a command made by Command and run by Run:
//
//   - It runs in a process group of its own. When ctx ends (the lease is
//     lost, a deadline passed, the run was interrupted) the whole group gets
//     SIGKILL at once: there is no grace, because the ctx of a process under
//     the lock ends at the lease's stop deadline at the latest, and K (the
//     stop time) is all that is left before the kill deadline.
//   - It gets SIGKILL when zkfence dies (PR_SET_PDEATHSIG, set from an OS
//     thread that stays locked until the process is reaped, since the signal
//     follows the forking thread, not the process).
//   - Under WithPIDNamespace (the freeze guard is on) it is the init of a PID
//     namespace of its own: when it dies, of SIGKILL or of zkfence's death,
//     the kernel kills every process it left, daemonized or not. Without it,
//     a descendant that left the process group (setsid) is not reached.
//   - Wait returns at most WaitDelay after the kill even when a descendant
//     holds its output pipes open.
package heldexec

import (
	"context"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// WaitDelay bounds how long Run waits for the output pipes after the process
// was killed (a descendant that left the group may hold them).
const WaitDelay = time.Second

type namespaceKey struct{}

// WithPIDNamespace returns a ctx under which Command starts each process as
// the init of a new PID namespace (needs CAP_SYS_ADMIN).
func WithPIDNamespace(ctx context.Context) context.Context {
	return context.WithValue(ctx, namespaceKey{}, true)
}

func pidNamespace(ctx context.Context) bool {
	on, _ := ctx.Value(namespaceKey{}).(bool)
	return on
}

// Command is exec.CommandContext with the attributes above. The caller may
// set Dir, Env, Stdout, Stderr and SysProcAttr.Credential, and must run it
// with Run.
func Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if pidNamespace(ctx) {
		cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWPID
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = WaitDelay
	return cmd
}

// Run starts cmd and waits for it on one locked OS thread, so that its
// PDEATHSIG stays tied to zkfence's life, not to a thread Go may retire.
func Run(cmd *exec.Cmd) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		done <- cmd.Run()
	}()
	return <-done
}
