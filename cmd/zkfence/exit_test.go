package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/zkfence/zkfence/runner"
	"github.com/zkfence/zkfence/supervise"
)

// TestExitCodeOfChildErrors: an error of starting the child gets the code
// supervise.ExitCodeOf gives it (what zkfence nsinit exits with), however
// it is wrapped; the run pipeline's own classes still win.
func TestExitCodeOfChildErrors(t *testing.T) {
	for _, err := range []error{
		supervise.ErrNotFound, supervise.ErrNotExecutable, supervise.ErrBadUser, supervise.ErrBusy,
		errors.New("something else"),
	} {
		wrapped := fmt.Errorf("start the child: %w", err)
		if got, want := exitCodeOf(wrapped), supervise.ExitCodeOf(wrapped); got != want {
			t.Errorf("exitCodeOf(%v) = %d, supervise.ExitCodeOf = %d", wrapped, got, want)
		}
	}
	refused := fmt.Errorf("%w: %w", runner.ErrRefused, supervise.ErrBadUser)
	if got := exitCodeOf(refused); got != 78 {
		t.Errorf("exitCodeOf(%v) = %d, want 78", refused, got)
	}
	if got := exitCodeOf(&runner.ChildExit{Code: 3}); got != 3 {
		t.Errorf("child exit 3: %d", got)
	}
}
