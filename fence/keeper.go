package fence

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkfence/zkfence/internal/clock"
)

// Keeper refreshes our heartbeat on every guarded volume while the child
// runs, and reads each record back first: a newer token, another holder or
// an unreadable record ends it (Lost), and the child must be stopped.
type Keeper struct {
	roots []string
	claim Claim
	clock clock.Clock
	log   *slog.Logger
	valid func() bool // false once our lease is overdue: never write then

	// writing is set from just before a heartbeat checks valid until its
	// Write returned: a beat stuck with it unset writes nothing any more
	// (valid is false for good once the run stops).
	writing atomic.Bool

	mu   sync.Mutex
	err  error
	lost chan struct{}
	quit chan struct{}
	done chan struct{}
}

// Keep starts the heartbeat every interval. valid reports whether our lease
// still holds; a heartbeat is never written once it does not.
func Keep(roots []string, c Claim, interval time.Duration, valid func() bool, clk clock.Clock, log *slog.Logger) *Keeper {
	k := &Keeper{roots: roots, claim: c, clock: clk, log: log, valid: valid,
		lost: make(chan struct{}), quit: make(chan struct{}), done: make(chan struct{})}
	go k.loop(interval)
	return k
}

func (k *Keeper) loop(interval time.Duration) {
	defer close(k.done)
	t := k.clock.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-k.quit:
			return
		case <-t.C():
		}
		for _, root := range k.roots {
			if err := k.beat(root); err != nil {
				k.mu.Lock()
				k.err = err
				k.mu.Unlock()
				close(k.lost)
				return
			}
		}
		t.Reset(interval)
	}
}

// beat checks the record on root and refreshes our heartbeat.
func (k *Keeper) beat(root string) error {
	r, err := Read(root)
	if err != nil {
		return readFailure(err)
	}
	if r.Token != k.claim.Token || r.Holder != k.claim.Holder || r.Service != k.claim.Service {
		return fmt.Errorf("%w: %s now names token %d held by %s (ours: %d)", ErrFenced, root, r.Token, r.Holder, k.claim.Token)
	}
	k.writing.Store(true)
	defer k.writing.Store(false)
	if !k.valid() {
		return nil // the run loop is stopping the child; leave the record alone
	}
	r.Heartbeat = k.clock.Now().UTC()
	if err := Write(root, r); err != nil {
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	return nil
}

// readFailure classifies a failed read of the record: gone, corrupt or
// incomplete means someone else wrote the volume (fenced); any other error
// is the volume failing (unreachable).
func readFailure(err error) error {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	return fmt.Errorf("%w: %v", ErrFenced, err)
}

// Lost is closed when the record says we are no longer the holder.
func (k *Keeper) Lost() <-chan struct{} { return k.lost }

// Err says why Lost was closed.
func (k *Keeper) Err() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.err
}

// stopWait bounds how long Stop waits for a heartbeat in flight: one stuck
// on a dead mount is abandoned, never waited for.
const stopWait = 2 * time.Second

// Stop ends the heartbeats. It returns once the loop has ended, or after
// stopWait when a heartbeat is stuck in the filesystem. It reports false
// when a heartbeat is stuck in its write of the record, which may land
// whenever the volume answers again; a heartbeat stuck in its read writes
// nothing after valid turned false (the caller ends its lease first).
func (k *Keeper) Stop() bool {
	select {
	case <-k.quit:
	default:
		close(k.quit)
	}
	select {
	case <-k.done:
		return true
	case <-time.After(stopWait):
		if k.writing.Load() {
			k.log.Error("fence heartbeat stuck in a write of the record; abandoning it: the write may land when the volume answers")
			return false
		}
		k.log.Warn("fence heartbeat stuck in a read of the record; abandoning it (it writes nothing any more)")
		return true
	}
}

// Release stops the heartbeats and marks every record that is still ours as
// released (see the package function Release).
func (k *Keeper) Release() error {
	k.Stop()
	return Release(k.roots, k.claim, k.clock.Now())
}

// Release marks every record on roots that is still ours as released, so
// that the next holder need not wait out the lock-delay. Call it only once
// the child tree is confirmed dead, or when no child was started.
func Release(roots []string, c Claim, now time.Time) error {
	var first error
	for _, root := range roots {
		r, err := Read(root)
		if err != nil || r.Token != c.Token || r.Holder != c.Holder {
			continue // not ours any more: leave it
		}
		r.Released = true
		r.Heartbeat = now.UTC()
		if err := Write(root, r); err != nil && first == nil {
			first = err
		}
	}
	return first
}
