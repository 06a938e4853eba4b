package images

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// lockPoll is how often a process waiting for another one's build tries the
// lock again. Builds take seconds to minutes: half a second adds nothing
// noticeable.
const lockPoll = 500 * time.Millisecond

// lockDir holds one lock file per image name. It lives in the system's temp
// directory, shared by every test process on the machine, and is never
// removed (the files are empty).
func lockDir() string { return filepath.Join(os.TempDir(), "zkfence-images-locks") }

// lockImage takes an exclusive lock for building name (an image tag) and
// returns its release. It waits, logging once, while another process holds
// it, and gives up when ctx ends. The kernel drops the lock if the process
// dies, so a killed build never blocks the next one.
func lockImage(ctx context.Context, name string, logf func(string, ...any)) (func(), error) {
	if err := os.MkdirAll(lockDir(), 0o755); err != nil {
		return nil, fmt.Errorf("images: lock directory: %w", err)
	}
	file := filepath.Join(lockDir(), strings.NewReplacer("/", "_", ":", "_").Replace(name)+".lock")
	f, err := os.OpenFile(file, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("images: lock %s: %w", file, err)
	}
	logged := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("images: lock %s: %w", file, err)
		}
		if !logged {
			logf("%s: another process is building it; waiting (lock %s)", name, file)
			logged = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("images: waiting for the lock on %s: %w", name, ctx.Err())
		case <-time.After(lockPoll):
		}
	}
}
