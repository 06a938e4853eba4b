package runner

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/zkfence/zkfence/deadman"
	"github.com/zkfence/zkfence/exitcode"
	"github.com/zkfence/zkfence/supervise"
)

// The --freeze-guard modes.
const (
	FreezeGuardAuto = "auto" // on when the kernel allows it, with a warning when not
	FreezeGuardOn   = "on"   // refuse to run without it
	FreezeGuardOff  = "off"
)

// FreezeGuardPlan is what `zkfence run` does about the freeze guard.
type FreezeGuardPlan int

const (
	FreezeGuardNone      FreezeGuardPlan = iota // run without it
	FreezeGuardHere                             // arm it in this process (NewFreezeGuard)
	FreezeGuardUnderInit                        // PID 1: run this command line again under a minimal init (RunUnderInit)
)

// PlanFreezeGuard reads the --freeze-guard mode and finds out whether the
// kernel lets this process create a PID namespace. It changes nothing. A bad
// mode, or mode on where the kernel says no, is ErrRefused.
func PlanFreezeGuard(mode, self string, log *slog.Logger) (FreezeGuardPlan, error) {
	switch mode {
	case FreezeGuardOff:
		return FreezeGuardNone, nil
	case FreezeGuardAuto, FreezeGuardOn:
	default:
		return FreezeGuardNone, fmt.Errorf("%w: --freeze-guard: %q is not auto, on or off", ErrRefused, mode)
	}
	if err := ProbeFreezeGuard(self); err != nil {
		if mode == FreezeGuardOn {
			return FreezeGuardNone, fmt.Errorf("%w: --freeze-guard on: the child cannot get a PID namespace of its own "+
				"(give the container CAP_SYS_ADMIN, or use --freeze-guard auto or off): %v", ErrRefused, err)
		}
		log.Warn("FREEZE GUARD OFF: the child cannot get a PID namespace of its own (no CAP_SYS_ADMIN?); "+
			"if this container is frozen past the lease deadline (docker pause), its child runs for a few "+
			"milliseconds after the thaw while another node may hold the lock", "err", err)
		return FreezeGuardNone, nil
	}
	if os.Getpid() == 1 {
		return FreezeGuardUnderInit, nil
	}
	return FreezeGuardHere, nil
}

// ProbeFreezeGuard finds out, by trying, whether the child can get a PID
// namespace of its own: zkfence's own binary (self) is started in one and
// runs `version`.
func ProbeFreezeGuard(self string) error {
	return supervise.ProbePIDNamespace([]string{self, "version"})
}

// NewFreezeGuard builds the run's guard: the deadman switch of this process
// and the namespace init the child runs under, which is zkfence's own binary
// (self) as the hidden `zkfence nsinit`, stopping the child with sig and
// grace as the run would.
func NewFreezeGuard(self string, sig syscall.Signal, grace time.Duration) (*FreezeGuard, error) {
	sw, err := deadman.New()
	if err != nil {
		return nil, fmt.Errorf("freeze guard: %w", err)
	}
	wrap := func(s supervise.Spec) supervise.Spec {
		argv := []string{self, "nsinit", "--ready-fd", "3", "--stop-signal", supervise.SignalName(sig), "--stop-grace", grace.String(),
			"--user", s.User, "--group", s.Group, "--"}
		return supervise.Spec{Argv: append(argv, s.Argv...), Env: s.Env, Dir: s.Dir, SignalMap: s.SignalMap}
	}
	return &FreezeGuard{Switch: sw, Wrap: wrap}, nil
}

// SelfPath is the path of zkfence's own binary, to run it again.
func SelfPath() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find zkfence's own binary: %w", err)
	}
	if _, err := os.Stat(self); err != nil {
		return "/proc/self/exe", nil // replaced or deleted since start
	}
	return self, nil
}

// RunUnderInit is `zkfence run` as PID 1 with the freeze guard: the kernel
// drops a namespace init's own timer signal, so this process stays a minimal
// init (forward signals, reap orphans, pass the exit code on) and runs self
// with args (the same command line) again as its child, which arms the guard.
func RunUnderInit(self string, args []string, log *slog.Logger) error {
	sigs, stopSignals := supervise.Signals() // before the child: as PID 1 an unhandled SIGTERM is lost
	defer stopSignals()
	child, err := supervise.Start(supervise.Spec{Argv: append([]string{self}, args...), Env: os.Environ()})
	if err != nil {
		return fmt.Errorf("run zkfence under a minimal init: %w", err)
	}
	log.Info("PID 1: running zkfence again under a minimal init, so that the kernel can kill it at the lease deadline",
		"pid", child.Pid())
	for done := false; !done; {
		select {
		case <-child.Done():
			done = true
		case sig := <-sigs:
			child.Forward(sig)
		}
	}
	// zkfence stopped its own tree before it exited; this only reaps.
	ctx, cancel := context.WithTimeout(context.Background(), initStopTimeout)
	defer cancel()
	if err := child.Stop(ctx, supervise.StopPolicy{Signal: syscall.SIGTERM, Grace: initStopTimeout / 2}); err != nil {
		log.Error("processes left after zkfence exited", "err", err)
	}
	code := child.ExitCode()
	if code == exitcode.SignalBase+int(syscall.SIGKILL) {
		log.Error("zkfence was SIGKILLed: by its freeze guard at the lease deadline (it could not act in time: frozen, stopped or stuck), or from outside; the child's PID namespace died with it")
	}
	if code != 0 {
		return &ChildExit{Code: code}
	}
	return nil
}

// initStopTimeout bounds the minimal init's cleanup after zkfence exited:
// zkfence confirms its child's tree dead before it exits, so nothing is
// normally left.
const initStopTimeout = 2 * time.Second
