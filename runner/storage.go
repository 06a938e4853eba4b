package runner

import (
	"context"
	"time"
)

// Storage guards the volumes the child writes to. The command line adapts
// package fsguard to it; nil in Config means no guarded storage.
type Storage interface {
	// Prepare runs with the lock held, and only then (I4): checks shared
	// filesystems, or fsck's and mounts block devices. ctx is cancelled when
	// the lease is lost or a terminating signal comes; work such as fsck must
	// stop then.
	Prepare(ctx context.Context) (Guarded, error)
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

// FenceConfig turns on the fence record on every guarded volume.
type FenceConfig struct {
	LockDelay time.Duration // wait until the previous holder's heartbeat is this old
	ClaimNew  bool          // --claim-volume: a volume without a record may be claimed
	TakeOver  bool          // --take-over-volume: a volume of another service may be taken
}
