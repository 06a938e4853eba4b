package fsguard

import (
	"errors"
	"fmt"
)

// Why storage ended a run. The command line maps each to a documented exit
// code (package exitcode).
var (
	// ErrStorageRefused: a volume failed its checks before the child started
	// (bad flags, not a mount, wrong type or source, read-only, full, fsck
	// refused, mount failed). Exit code 93 (78 for bad flags).
	ErrStorageRefused = errors.New("storage refused")
	// ErrMountLost: a guarded mount failed its live probe while the child
	// ran. Exit code 91.
	ErrMountLost = errors.New("mount lost")
)

// refusef returns an error wrapping ErrStorageRefused. Its arguments may
// contain one more %w.
func refusef(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrStorageRefused}, args...)...)
}
