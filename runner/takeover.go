package runner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/zkfence/zkfence/fence"
	"github.com/zkfence/zkfence/lock"
)

// zkTimeout bounds each request about the fence state: past it the run
// gives up rather than hold the lock with nothing to show for it.
const zkTimeout = 10 * time.Second

// takeOver reads who held the lock before us from the fence state beside the
// lock in ZooKeeper, before any storage is touched, deals with that holder,
// then writes us in (not released) so that the next holder can do the same.
// When ZooKeeper names no previous holder, the fence records of the volumes
// that can be read before anything is written may (dealWithUnrecorded).
//
// A previous holder that released cleanly needs nothing. One that did not
// (it was cut off, frozen, killed, or could not confirm its child dead or
// unmount its device) may still write. With a fence agent it is fenced, and
// once the agent confirms its node off, whatever that node does in its last
// moments is over before anything here starts: no lock-delay. Without an
// agent, or when fencing fails (and is not required), the lock-delay is
// waited out, counted from now.
func (r *run) takeOver(ctx context.Context) error {
	prev, err := withTimeout(ctx, func(ctx context.Context) (lock.VersionedFenceState, error) {
		return r.holding.ReadFenceState(ctx)
	})
	if errors.Is(err, lock.ErrFenceStateCorrupt) {
		return fmt.Errorf("%w: %v (delete it only once no other node can run the service)", fence.ErrRefused, err)
	}
	if err != nil {
		return err
	}
	r.previous = prev.FenceState // dealWithUnrecorded may name one from a volume instead
	how, err := r.dealWithPrevious(ctx, prev)
	if err != nil {
		return err
	}
	// Unfenced before we record ourselves, never after: a first waiter that
	// fences us at the storage (fast takeover) and saw us recorded before
	// its off then took a key we had already registered, and our action=on
	// cannot land after its off and give the key back (fenceAndDelete).
	if err := r.unfence(ctx); err != nil {
		return err
	}
	ours := lock.FenceState{Service: r.cfg.LockPath, Token: r.lease.Token(), Holder: r.self.String(),
		FenceID: r.cfg.FenceID, Updated: r.clock.Now().UTC(), Takeover: how}
	next, err := withTimeout(ctx, func(ctx context.Context) (lock.VersionedFenceState, error) {
		return r.holding.WriteFenceState(ctx, prev, ours)
	})
	if errors.Is(err, lock.ErrFenceStateChanged) || errors.Is(err, lock.ErrLockNodeGone) {
		return fmt.Errorf("%w: %v", fence.ErrFenced, err)
	}
	if err != nil {
		return err
	}
	r.fenceState = &next
	return nil
}

// dealWithPrevious does what the previous holder's state asks of us and says
// what it was, for the fence state and `zkfence status`.
func (r *run) dealWithPrevious(ctx context.Context, prev lock.VersionedFenceState) (string, error) {
	switch {
	case !prev.Found():
		return r.dealWithUnrecorded(ctx)
	case prev.Token > r.lease.Token():
		return "", fmt.Errorf("%w: the fence state names token %d, newer than ours (%d)", fence.ErrFenced, prev.Token, r.lease.Token())
	}
	// A state restored from a backup (or rolled back) names an older holder
	// than the volumes do: the one after it, which the volumes' records
	// name, may not have released. It is dealt with too, and so is the
	// state's own: a volume's record only adds a holder to deal with, never
	// takes away the one ZooKeeper names (a record may have been planted by
	// whoever can write the volume: a token just above the state's, with
	// no fence id, this node's, or a node already off, would otherwise
	// leave the state's holder unfenced).
	holders, _, unread, err := r.previousOnVolumes(ctx)
	if err != nil {
		return "", err
	}
	var newer []lock.FenceState
	for _, h := range holders {
		if h.Token > prev.Token {
			newer = append(newer, h)
		}
	}
	var volumeHow string
	switch {
	case len(newer) > 0:
		r.log.Warn("the fence state in zookeeper is older than a volume's fence record (restored or rolled back)",
			"state_token", prev.Token, "volume_token", newer[0].Token)
		if volumeHow, err = r.dealWithVolumeHolders(ctx, newer, unread); err != nil {
			return "", err
		}
	case unread != "":
		// A volume not read in time may name a holder newer than the
		// state (restored or rolled back): the lock-delay is waited out
		// (once) besides.
		if err := r.unreadVolume(unread); err != nil {
			return "", err
		}
	}
	how, err := r.dealWithState(ctx, prev)
	switch {
	case err != nil:
		return "", err
	case volumeHow != "":
		return volumeHow + "; " + how, nil
	case unread == "" || r.lockDelayWaited:
		return how, nil
	}
	return how + "; FENCING FAILED, volume record not read, waited lock-delay", r.waitLockDelay(ctx)
}

// dealWithState deals with the previous holder that ZooKeeper's fence state
// names (not older than the volumes' records).
func (r *run) dealWithState(ctx context.Context, prev lock.VersionedFenceState) (string, error) {
	switch {
	case prev.Released:
		r.log.Info("previous holder released cleanly", "token", prev.Token, "holder", prev.Holder)
		return "released", nil
	case r.cfg.Fencer != nil && prev.FenceID != "" && prev.FenceID == r.cfg.FenceID:
		// The agent would fence this very node. The previous holder ran
		// here (a restarted container keeps its ID): wait it out instead.
		// Even when its first waiter fenced it (FencedBy): with an agent
		// that fences at the storage, that off only took the node's key
		// away, the old holder's processes here live on, and our own
		// action=on (the same id) gives the key back.
		r.log.Warn("previous holder did not release cleanly and ran on this node (same fence id): not fencing ourselves; waiting out the lock-delay",
			"token", prev.Token, "holder", prev.Holder, "fence_id", prev.FenceID)
		if r.cfg.Fence == nil {
			return "same node, no storage", nil
		}
		return "same node, waited lock-delay", r.waitLockDelay(ctx)
	case prev.FencedBy != "":
		r.fenced, r.fencedToken = true, prev.Token
		r.log.Info("previous holder was fenced, and confirmed off, by its first waiter", "token", prev.Token,
			"holder", prev.Holder, "fence_id", prev.FenceID, "fenced_by", prev.FencedBy)
		return "fenced " + prev.FenceID + " by " + prev.FencedBy, nil
	case r.cfg.Fencer != nil:
		return r.fencePrevious(ctx, prev.FenceState)
	case r.cfg.Fence == nil:
		r.log.Warn("previous holder did not release cleanly; no guarded storage, so nothing to wait for",
			"token", prev.Token, "holder", prev.Holder)
		return "not released, no storage", nil
	}
	r.log.Warn("previous holder did not release cleanly: waiting out the lock-delay before touching storage",
		"token", prev.Token, "holder", prev.Holder, "lock_delay", r.cfg.Fence.LockDelay)
	return "waited lock-delay", r.waitLockDelay(ctx)
}

// fencePrevious fences the previous holder's node and waits for the agent's
// confirmation. A confirmed fence skips the lock-delay (r.fenced).
func (r *run) fencePrevious(ctx context.Context, prev lock.FenceState) (string, error) {
	err := r.fenceOff(ctx, prev, false)
	if err == nil {
		r.fenced, r.fencedToken = true, prev.Token
		return "fenced " + prev.FenceID, nil
	}
	if err := r.fencingFailed(ctx, prev, err); err != nil {
		return "", err
	}
	if r.cfg.Fence == nil {
		return "FENCING FAILED, no storage", nil
	}
	return "FENCING FAILED, waited lock-delay", r.waitLockDelay(ctx)
}

// fenceOff fences prev's node and waits for the agent's confirmation.
// fromVolume says that prev was read from a volume's fence record rather
// than from ZooKeeper (see peer).
func (r *run) fenceOff(ctx context.Context, prev lock.FenceState, fromVolume bool) error {
	if prev.FenceID == "" {
		return errors.New("the previous holder recorded no fence id")
	}
	if err := r.peer(prev.FenceID, fromVolume); err != nil {
		return err
	}
	r.log.Warn("previous holder did not release cleanly: fencing it before touching storage",
		"token", prev.Token, "holder", prev.Holder, "fence_id", prev.FenceID)
	start := r.clock.Now()
	if err := r.cfg.Fencer.Off(ctx, prev.FenceID); err != nil {
		return err
	}
	r.log.Info("previous holder fenced: the agent confirmed its node off", "fence_id", prev.FenceID,
		"took", r.clock.Now().Sub(start).Round(time.Millisecond))
	return nil
}

// peer refuses to have the agent fence id unless --fence-peers lists it.
// An id from a volume's fence record always needs the list: anyone who can
// write that record as zkfence's user would otherwise choose whom root
// fences (any node the agent reaches, or this node under another name: a
// short container id, a short host name). An id from ZooKeeper, written by
// holders with its credentials, needs it only when the list is given.
func (r *run) peer(id string, fromVolume bool) error {
	switch {
	case slices.Contains(r.cfg.FencePeers, id):
		return nil
	case r.cfg.FencePeers == nil && !fromVolume:
		return nil
	case r.cfg.FencePeers == nil:
		return fmt.Errorf("fence id %q comes from a volume's fence record and no --fence-peers is given: not fenced "+
			"(a volume's record does not choose whom the agent fences; list it in --fence-peers if it is one of this service's nodes)", id)
	}
	return fmt.Errorf("fence id %q is not in --fence-peers: not fenced (list it in --fence-peers if it is one of this service's nodes)", id)
}

// fencingFailed judges a fence of prev that failed with err: nil when the
// lock-delay may be waited out instead (logged as FENCING FAILED).
func (r *run) fencingFailed(ctx context.Context, prev lock.FenceState, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if r.cfg.FenceRequired {
		return fmt.Errorf("%w: %s (fence id %q): %v", ErrFencingFailed, prev.Holder, prev.FenceID, err)
	}
	r.log.Error("FENCING FAILED: waiting out the lock-delay instead", "fence_id", prev.FenceID, "err", err)
	return nil
}

// unfence gives this node back its access to the storage, for agents that
// fence there (fence_scsi registers a key per node), before it is touched.
func (r *run) unfence(ctx context.Context) error {
	if r.cfg.Fencer == nil || r.cfg.FenceID == "" {
		return nil
	}
	if err := r.cfg.Fencer.Unfence(ctx, r.cfg.FenceID); err != nil {
		return fmt.Errorf("%w: unfencing this node (%s): %v", ErrFencingFailed, r.cfg.FenceID, err)
	}
	return nil
}

func (r *run) waitLockDelay(ctx context.Context) error {
	t := r.clock.NewTimer(r.cfg.Fence.LockDelay)
	defer t.Stop()
	select {
	case <-t.C():
		r.lockDelayWaited = true
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// releaseFenceState marks our fence state released: called only when the
// child tree is confirmed dead and the storage let go. A newer holder's
// state is never overwritten (the version check fails).
func (r *run) releaseFenceState(ctx context.Context) {
	if r.fenceState == nil {
		return
	}
	st := r.fenceState.FenceState
	st.Released, st.Updated = true, r.clock.Now().UTC()
	_, err := withTimeout(ctx, func(ctx context.Context) (lock.VersionedFenceState, error) {
		return r.holding.WriteFenceState(ctx, *r.fenceState, st)
	})
	if err != nil {
		r.log.Warn("fence state not marked released; the next holder waits out the lock-delay", "err", err)
	}
}

// withTimeout runs fn bounded by zkTimeout and ctx.
func withTimeout[T any](ctx context.Context, fn func(context.Context) (T, error)) (T, error) {
	return boundedValue(ctx, zkTimeout, "zookeeper fence state", fn)
}
