package fsguard

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
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

// ErrInconclusive: a live probe measured nothing because this process or
// machine ran out of a local resource (IsLocalResourceError). It is never a
// mount loss: the watch logs it and probes again at the next interval.
var ErrInconclusive = errors.New("storage probe inconclusive")

// IsLocalResourceError reports whether err is this process or this machine
// running out of a local resource: file descriptors (EMFILE, ENFILE) or
// kernel memory (ENOMEM). Such an error says nothing about a mount or a
// volume, so it must never be taken for a lost mount or a corrupt record:
// idle connections to the health endpoint once exhausted the descriptors and
// a healthy child was stopped as "mount lost" (issue 16). Every reader of a
// guarded volume (the probe here, the fence record's keeper) classifies its
// errors with it.
func IsLocalResourceError(err error) bool {
	return errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) || errors.Is(err, unix.ENOMEM)
}

// refusef returns an error wrapping ErrStorageRefused. Its arguments may
// contain one more %w.
func refusef(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrStorageRefused}, args...)...)
}
