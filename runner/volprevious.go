package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/zkfence/zkfence/fence"
	"github.com/zkfence/zkfence/lock"
)

// dealWithUnrecorded deals with a previous holder when ZooKeeper's fence
// state names none: its data was lost or reset, an operator deleted the
// fence state node, or the previous holder ran a zkfence that wrote none.
// The volume's fence record alone then guards the data, and its lock-delay
// (fence.Acquire) waits only for a heartbeat to grow old: a holder frozen
// mid-write beats no more while frozen, passes that wait, and writes again
// when it thaws. So, with a fence agent, the records of the volumes that can
// be read now (previousOnVolumes) are asked, and an unreleased holder one of
// them names is fenced as one ZooKeeper names (fencePrevious): off and
// confirmed, --fence-required refusing when that fails, FENCING FAILED
// otherwise. Only a fence id listed in --fence-peers is fenced (r.peer): a
// record is not trusted to choose whom root fences, and an id it names
// that is not listed is a fence that failed. Every unreleased holder they
// name is dealt with, not only the newest: a record on one volume must not
// decide for another's holder. A holder confirmed off skips the lock-delay
// on its own records only
// (r.fencedOnVolumes: token and holder). The same holds when the state
// names only an older holder than a volume's record does
// (dealWithPrevious: a state restored from a backup).
func (r *run) dealWithUnrecorded(ctx context.Context) (string, error) {
	r.log.Info("no previous holder recorded in zookeeper", "fence_state", lock.FenceStatePath(r.cfg.LockPath))
	holders, released, unread, err := r.previousOnVolumes(ctx)
	switch {
	case err != nil:
		return "", err
	case len(holders) > 0 || unread != "":
		return r.dealWithVolumeHolders(ctx, holders, unread)
	case released:
		r.log.Info("the volume's fence record says the previous holder released cleanly")
		return "released (volume record)", nil
	}
	return "first", nil
}

// unreadVolume judges a volume whose fence record could not be read in
// time before the storage checks (previousOnVolumes' unread): its record
// may name a holder that did not release, newer than any other record or
// than ZooKeeper's state (the event that froze it may have stalled the
// volume too), and taking it for nobody would leave that holder to its
// heartbeat, stale for a frozen holder. It is a fence that failed, whatever
// the other volumes or the state name: --fence-required refuses; otherwise
// FENCING FAILED, and the caller waits out the lock-delay from now.
func (r *run) unreadVolume(unread string) error {
	err := fmt.Errorf("the fence record of %s could not be read before the storage checks", unread)
	if r.cfg.FenceRequired {
		return fmt.Errorf("%w: %v", ErrFencingFailed, err)
	}
	r.log.Error("FENCING FAILED: waiting out the lock-delay instead", "err", err)
	return nil
}

// dealWithVolumeHolders deals with each unreleased holder that the volumes'
// records name (previousOnVolumes, newest first), when ZooKeeper's fence
// state names none or only an older one, and with a volume whose record was
// not read in time (unread, see unreadVolume); the lock-delay is waited out
// once if any could not be fenced.
func (r *run) dealWithVolumeHolders(ctx context.Context, holders []lock.FenceState, unread string) (string, error) {
	var hows []string
	failed := false
	if unread != "" {
		if err := r.unreadVolume(unread); err != nil {
			return "", err
		}
		failed = true
		hows = append(hows, "FENCING FAILED, volume record not read, waited lock-delay")
	}
	for _, prev := range holders {
		switch {
		case prev.FenceID == "":
			// A holder of a zkfence older than fence ids, or one whose
			// record is not ours to parse: nothing to fence, and refusing
			// it would stop every upgrade. The volume's lock-delay applies.
			r.log.Warn("the volume's fence record names a previous holder that did not release, without a fence id: "+
				"not fenced; the volume's lock-delay applies", "token", prev.Token, "holder", prev.Holder)
			hows = append(hows, "first, volume record without fence id")
			continue
		case prev.FenceID == r.cfg.FenceID:
			r.log.Warn("the volume's fence record names a previous holder that did not release and ran on this node "+
				"(same fence id): not fencing ourselves; the volume's lock-delay applies", "token", prev.Token,
				"holder", prev.Holder, "fence_id", prev.FenceID)
			hows = append(hows, "first, same node (volume record)")
			continue
		}
		r.log.Warn("zookeeper names no previous holder, but the volume's fence record names one that did not release",
			"token", prev.Token, "holder", prev.Holder, "fence_id", prev.FenceID)
		if err := r.fenceOff(ctx, prev, true); err != nil {
			if err := r.fencingFailed(ctx, prev, err); err != nil {
				return "", err
			}
			failed = true
			hows = append(hows, "FENCING FAILED, waited lock-delay (volume record)")
			continue
		}
		if len(r.fencedOnVolumes) == 0 {
			r.previous = prev // the newest fenced, for the attach command
		}
		r.fencedOnVolumes = append(r.fencedOnVolumes, fence.FencedHolder{Token: prev.Token, Holder: prev.Holder})
		hows = append(hows, "fenced "+prev.FenceID+" (volume record)")
	}
	if failed {
		if err := r.waitLockDelay(ctx); err != nil {
			return "", err
		}
	}
	return strings.Join(hows, "; "), nil
}

// previousOnVolumes reads, without writing anything, the fence records of
// the guarded volumes that can be read before storage is prepared: shared
// filesystems mounted already (Storage.Readable). A block device that
// zkfence attaches, fsck's and mounts itself cannot be read here, since
// those are the very steps that must wait for the fence; on it only
// ZooKeeper's fence state names the previous holder.
//
// It returns the unreleased holders of our service, older than us, that
// the records name, newest first, each (token and holder) once; released
// reports whether a record names one that released. A record of another
// service, or of a token not older than ours, is left to fence.Acquire
// (which refuses it or, with --take-over-volume, waits out its
// lock-delay); so is a record that is not one a holder wrote (fence.Read:
// no FIFO, no link, bounded size), which fence.Acquire refuses. Each step
// is bounded: a volume whose record could not be read for another reason
// (it did not answer in time, an I/O error) is named in unread, for the
// caller to judge.
func (r *run) previousOnVolumes(ctx context.Context) (holders []lock.FenceState, released bool, unread string, err error) {
	if r.cfg.Fencer == nil || r.cfg.Fence == nil || r.cfg.Storage == nil {
		return nil, false, "", nil
	}
	roots, err := boundedValue(ctx, fence.DefaultIOTimeout, "find the volumes readable before storage",
		func(context.Context) ([]string, error) { return r.cfg.Storage.Readable(), nil })
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, "", context.Cause(ctx)
		}
		r.log.Warn("volumes not listed before the storage checks", "err", err)
		return nil, false, "the shared volumes", nil
	}
	for _, root := range roots {
		rec, err := boundedValue(ctx, fence.DefaultIOTimeout, "read fence record on "+root,
			func(context.Context) (fence.Record, error) { return fence.Read(root) })
		switch {
		case ctx.Err() != nil:
			return nil, false, "", context.Cause(ctx)
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			r.log.Warn("fence record not read before the storage checks", "volume", root, "err", err)
			if !fence.IsCorrupt(err) {
				unread = root
			}
			continue
		case rec.Service != r.cfg.LockPath || rec.Token >= r.lease.Token():
			continue
		}
		r.log.Info("fence record read before the storage checks", "volume", root, "token", rec.Token,
			"holder", rec.Holder, "released", rec.Released)
		if rec.Released {
			released = true
			continue
		}
		if slices.ContainsFunc(holders, func(h lock.FenceState) bool { return h.Token == rec.Token && h.Holder == rec.Holder }) {
			continue
		}
		h, _ := lock.ParseHolder([]byte(rec.Holder))
		holders = append(holders, lock.FenceState{Service: rec.Service, Token: rec.Token, Holder: rec.Holder,
			FenceID: h.FenceID, Updated: rec.Heartbeat})
	}
	slices.SortStableFunc(holders, func(a, b lock.FenceState) int { return cmp.Compare(b.Token, a.Token) })
	return holders, released, unread, nil
}
