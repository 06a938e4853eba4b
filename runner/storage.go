package runner

import (
	"context"
	"time"

	"github.com/zkfence/zkfence/fence"
)

// Storage guards the volumes the child writes to. The command line adapts
// package fsguard to it; nil in Config means no guarded storage.
type Storage interface {
	// Prepare runs with the lock held, and only then (I4): checks shared
	// filesystems, or fsck's and mounts block devices. ctx is cancelled when
	// the lease is lost or a terminating signal comes; work such as fsck must
	// stop then. On failure it returns, with its error, a non-nil Guarded
	// when something it mounted could not be unmounted: the run then tries
	// Release again and, if that fails, does not let go of the lock (I8).
	Prepare(ctx context.Context) (Guarded, error)
	// Readable lists the mount points whose fence records can be read
	// before Prepare, without writing anything: shared filesystems that
	// are mounted already (--mount without --device). A block device that
	// Prepare attaches, fsck's and mounts has no record to read until
	// then. It may touch the filesystem (resolving links): call it bounded.
	Readable() []string
}

// Guarded is storage that passed Prepare.
type Guarded interface {
	// Roots are the mount points, where the fence records live.
	Roots() []string
	// Watch starts the live probe.
	Watch() Watcher
	// Release unmounts what Prepare mounted. Call it only once the child
	// tree is confirmed dead.
	Release(ctx context.Context) error
}

// Watcher reports the loss of a guarded mount.
type Watcher interface {
	Lost() <-chan struct{}
	Err() error
	Stop()
}

// Restorer fills an empty data directory from a backup, with the lock held,
// after the storage checks and the fence, before the child starts. The
// command line adapts package restore to it; nil means no restore.
type Restorer interface {
	Restore(ctx context.Context, token int64) error
}

// Backups takes scheduled backups while the lock is held and the child runs,
// recording token in each backup; nil means none.
type Backups interface {
	Start(ctx context.Context, token int64)
	Stop()
}

// Fencer fences the previous holder's node through a fence agent
// (package fenceagent): Off returns nil only once the agent confirmed the
// node off; Unfence gives this node back its access to storage for agents
// that fence at the storage (fence_scsi, fence_mpath), and does nothing for
// the others.
type Fencer interface {
	Off(ctx context.Context, fenceID string) error
	Unfence(ctx context.Context, fenceID string) error
}

// Attach carries a network block device or cloud disk to this node under
// the lock: Cmd runs after the previous holder was fenced and before fsck
// and mount; Detach after the unmount on the way out. Each runs with sh -c,
// Env added to its environment (with ZKFENCE_TOKEN and
// ZKFENCE_PREVIOUS_FENCE_ID), and dies by the lease's kill deadline like
// every process zkfence starts under the lock.
type Attach struct {
	Cmd, Detach string
	Env         []string
}

// FenceConfig turns on the fence record on every guarded volume.
type FenceConfig struct {
	LockDelay time.Duration // wait until the previous holder's heartbeat is this old
	ClaimNew  bool          // --claim-volume: a volume without a record may be claimed
	TakeOver  bool          // --take-over-volume: a volume of another service may be taken
}

// prepareStorage checks (and maybe fsck's and mounts) the volumes, then puts
// our token on each of them.
func (r *run) prepareStorage(ctx context.Context) error {
	if r.cfg.Storage == nil {
		return nil
	}
	g, err := r.cfg.Storage.Prepare(ctx)
	if g != nil {
		r.guarded = g // with an error: what Prepare could not unmount, for cleanup to try again
	}
	if err != nil {
		return err
	}
	if r.cfg.Fence == nil {
		return nil
	}
	c := fence.Claim{
		Service: r.cfg.LockPath, Token: r.lease.Token(), Holder: r.self.String(),
		LockDelay: r.cfg.Fence.LockDelay, ClaimNew: r.cfg.Fence.ClaimNew, TakeOver: r.cfg.Fence.TakeOver,
	}
	if r.fenced {
		// The previous holder's node is confirmed off: its record needs
		// no lock-delay; one of any other holder (which the fence state
		// no longer names) still does.
		c.Fenced = r.fencedToken
	}
	// Holders named by volumes' records and confirmed off: only their own
	// records (token and holder) skip the lock-delay.
	c.FencedHolders = r.fencedOnVolumes
	// The lock-delay may make Acquire wait; beyond it the record's I/O must
	// not hang the start on a mount that stopped answering.
	limit := r.cfg.Fence.LockDelay + r.cfg.StopTime() + 10*time.Second
	for _, root := range g.Roots() {
		err := r.storageCall(ctx, limit, "fence record on "+root, func(ctx context.Context) error {
			return fence.Acquire(ctx, root, c, r.clock, r.log)
		})
		if err != nil {
			return err
		}
	}
	r.claim = &c
	r.log.Info("fence token written", "token", c.Token, "volumes", g.Roots())
	return nil
}

// releaseStorage marks our fence records released, so the next holder need
// not wait out the lock-delay, then unmounts what was mounted. It reports
// whether the storage was let go: false when a device could not be
// unmounted, or a call into the storage was abandoned still in the
// filesystem (storageCall): either may still write from here.
func (r *run) releaseStorage() bool {
	// A lock that ZooKeeper says is gone (node deleted or not ours, session
	// expired or replaced) may be another node's by now, and that node may
	// have written its own record: ours is read and written apart, and
	// would land over it. The record stays "not released"; the fence state
	// in ZooKeeper (not released either: its write checks our node) decides
	// for the next holder.
	if r.claim != nil && !r.mountLost && !r.lockGone() { // a dead mount cannot take the write
		err := r.storageCall(context.Background(), releaseTimeout, "release fence records", func(context.Context) error {
			return fence.Release(r.guarded.Roots(), *r.claim, r.clock.Now())
		})
		if err != nil {
			r.log.Warn("fence record not marked released; the next holder waits out the lock-delay", "err", err)
		}
	}
	if r.guarded == nil {
		return !r.storageStuck && r.detach()
	}
	if err := r.storageCall(context.Background(), releaseTimeout, "release storage", r.guarded.Release); err != nil {
		r.log.Error("storage NOT released", "err", err)
		return false
	}
	return !r.storageStuck && r.detach()
}

// storageCall is bounded for a call into the guarded storage, and records
// (storageStuck) when the call was abandoned before it returned: stuck in a
// filesystem that stopped answering, it may still read on and write (a
// fence record over the next holder's) whenever the volume answers again.
func (r *run) storageCall(ctx context.Context, limit time.Duration, what string, fn func(context.Context) error) error {
	c, err := boundedCall(ctx, limit, what, fn)
	if !c.Returned() {
		r.storageStuck = true
		r.log.Error("a call into the storage is stuck in the filesystem; the lock will not be released", "call", what)
	}
	return err
}
