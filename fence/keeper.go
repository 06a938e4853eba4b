package fence

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkfence/zkfence/fsguard"
	"github.com/zkfence/zkfence/internal/clock"
)

// Keeper refreshes our heartbeat on every guarded volume while the child
// runs, and reads each record back first: a newer token, another holder or
// an unreadable record ends it (Lost), and the child must be stopped.
//
// A beat runs in a goroutine of its own, at most one at a time, and the
// keeper waits for it at most Claim.IOTimeout: a beat stuck in the
// filesystem (a hard NFS mount whose server is gone, a frozen FUSE daemon)
// is abandoned and counts as an unreachable volume. An abandoned beat that
// comes back later never starts a write (see beat); one abandoned inside its
// write may still land it late. That can only make the next holder wait
// longer, or, over its newer token, fence that holder's child: never keep
// ours running.
type Keeper struct {
	roots []string
	claim Claim
	clock clock.Clock
	log   *slog.Logger
	valid func() bool // false once our lease is overdue: never write then

	abandoned atomic.Bool // a beat overran its bound: no late write
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
			err := k.boundedBeat(root)
			if errors.Is(err, errQuit) {
				return
			}
			if err != nil {
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

// errQuit: Stop was called while a beat was in flight.
var errQuit = errors.New("keeper stopped")

// boundedBeat runs one beat on root and waits for it at most the claim's
// IOTimeout, or until Stop.
func (k *Keeper) boundedBeat(root string) error {
	done := make(chan error, 1)
	go func() { done <- k.beat(root) }()
	limit := k.claim.ioTimeout()
	t := k.clock.NewTimer(limit)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C():
		k.abandoned.Store(true)
		return fmt.Errorf("%w: the fence record on %s did not answer within %s", ErrUnreachable, root, limit)
	case <-k.quit:
		k.abandoned.Store(true)
		return errQuit
	}
}

// beat checks the record on root and refreshes our heartbeat.
func (k *Keeper) beat(root string) error {
	r, err := Read(root)
	if fsguard.IsLocalResourceError(err) {
		// Out of descriptors or memory here (EMFILE, ENFILE, ENOMEM) says
		// nothing of the volume: skip this beat; the lease still holds
		// the child to its deadline.
		k.log.Warn("fence heartbeat skipped: out of a local resource", "root", root, "err", err)
		return nil
	}
	if err != nil {
		return readFailure(err)
	}
	if r.Token != k.claim.Token || r.Holder != k.claim.Holder || r.Service != k.claim.Service {
		return fmt.Errorf("%w: %s now names token %d held by %s (ours: %d)", ErrFenced, root, r.Token, r.Holder, k.claim.Token)
	}
	k.writing.Store(true)
	defer k.writing.Store(false)
	if !k.valid() || k.abandoned.Load() {
		return nil // the run loop is stopping the child; leave the record alone
	}
	r.Heartbeat = k.clock.Now().UTC()
	if err := Write(root, r); fsguard.IsLocalResourceError(err) {
		k.log.Warn("fence heartbeat not written: out of a local resource", "root", root, "err", err)
	} else if err != nil {
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	return nil
}

// readFailure classifies a failed read of the record: gone, corrupt,
// incomplete or planted (a symlink, a FIFO, too large, a .zkfence zkfence
// did not make) means someone else wrote the volume (fenced); any other
// error is the volume failing (unreachable).
func readFailure(err error) error {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, errCorrupt) {
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
	deadline := time.Now().Add(stopWait)
	select {
	case <-k.done:
	case <-time.After(stopWait):
	}
	// The loop stops waiting for a beat at once (boundedBeat), and no new
	// beat starts a write (abandoned); a write already under way gets what
	// is left of stopWait to finish, as it does in a few milliseconds on a
	// volume that answers.
	for k.writing.Load() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if k.writing.Load() {
		k.log.Error("fence heartbeat stuck in a write of the record; abandoning it: the write may land when the volume answers")
		return false
	}
	return true
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
