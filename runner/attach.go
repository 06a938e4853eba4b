package runner

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/zkfence/zkfence/internal/heldexec"
)

// attach runs the attach command (nbd-client, iscsiadm, rbd map, a cloud
// disk attach) under the lock, after the previous holder was dealt with and
// before storage is checked. It dies with the lease like fsck.
func (r *run) attach(ctx context.Context) error {
	a := r.cfg.Attach
	if a == nil || a.Cmd == "" {
		return nil
	}
	if err := r.runAttachCmd(ctx, "attach", a.Cmd); err != nil {
		return err
	}
	r.attached = true
	return nil
}

// detach runs the detach command after the unmount, on the way out. It
// reports whether the device was let go: a detach that fails, or that
// cannot run because the lease's kill deadline has passed, leaves the
// device attached here.
func (r *run) detach() bool {
	a := r.cfg.Attach
	if a == nil || a.Detach == "" || !r.attached {
		return true
	}
	left := r.lease.KillBy().Sub(r.clock.Now())
	if left <= 0 {
		r.log.Error("device NOT detached: the lease's kill deadline has passed")
		return false
	}
	ctx, cancel := context.WithTimeout(r.underLeaseValues(), min(left, releaseTimeout))
	defer cancel()
	if err := r.runAttachCmd(ctx, "detach", a.Detach); err != nil {
		r.log.Error("device NOT detached", "err", err)
		return false
	}
	r.attached = false
	return true
}

// underLeaseValues is a live context with the under-lease context's values
// (the freeze guard's PID namespace), for steps that run after it ended.
func (r *run) underLeaseValues() context.Context {
	return context.WithoutCancel(r.underLease)
}

func (r *run) runAttachCmd(ctx context.Context, what, script string) error {
	cmd := heldexec.Command(ctx, "/bin/sh", "-c", script)
	cmd.Env = append(append(childEnv(os.Environ()), r.cfg.Attach.Env...),
		"ZKFENCE_TOKEN="+strconv.FormatInt(r.lease.Token(), 10),
		"ZKFENCE_PREVIOUS_FENCE_ID="+r.previous.FenceID,
	)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start := r.clock.Now()
	if err := heldexec.Run(cmd); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s command stopped: %w", what, context.Cause(ctx))
		}
		return fmt.Errorf("%s command failed: %w", what, err)
	}
	r.log.Info(what+" command done", "took", r.clock.Now().Sub(start).Round(time.Millisecond))
	return nil
}
