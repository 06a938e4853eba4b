package runner

import (
	"context"
	"os"
	"time"

	"github.com/zkfence/zkfence/lock"
	"github.com/zkfence/zkfence/supervise"
)

// The seams of the run pipeline: the held lock and the child, behind small
// interfaces, so that the order of events can be tested in-process on fakes
// (phase_test.go) as well as end to end on a real ZooKeeper and real
// processes (cmd/zkfence).

// Lease is the right to run the child (lock.Lease): every deadline in it is
// a time of the run's clock.
type Lease interface {
	Token() int64
	Node() string
	// Lost is closed when the lease can no longer be trusted; Err says why.
	Lost() <-chan struct{}
	Err() error
	// Gone is closed once ZooKeeper says the lock is gone (lock.Definitive),
	// also when that comes after the lease ended at its deadline.
	Gone() <-chan struct{}
	// StopBy is when the stop of the child must begin, KillBy when the
	// child tree must be confirmed dead. Both move with every renewal.
	StopBy() time.Time
	KillBy() time.Time
	// Overdue reports that StopBy has passed, whatever Lost says yet.
	Overdue() bool
}

// Holding is a lock this run holds: its lease, the fence state kept beside
// the lock in ZooKeeper, and the two ways to end the hold.
type Holding interface {
	Lease() Lease
	// ReadFenceState and WriteFenceState are lock.Session's.
	ReadFenceState(ctx context.Context) (lock.VersionedFenceState, error)
	WriteFenceState(ctx context.Context, prev lock.VersionedFenceState, st lock.FenceState) (lock.VersionedFenceState, error)
	// Release lets go at once: the lock node is deleted and the session
	// closed, so the next contender takes over without waiting.
	Release(ctx context.Context) error
	// Abandon stops renewing and keeps the node and the session, which
	// expire on their own: for a run that may still have a writer.
	Abandon()
}

// locker takes the lock: it returns once it is held, or with an error.
type locker interface {
	Lock(ctx context.Context) (Holding, error)
}

// Child is the supervised child tree (supervise.Child).
type Child interface {
	Pid() int
	Done() <-chan struct{}
	ExitCode() int
	Forward(sig os.Signal)
	Stop(ctx context.Context, policy supervise.StopPolicy) error
}

// starter starts the child; unpin frees what starting it pinned (see
// startPinned), once the tree is confirmed dead.
type starter func(spec supervise.Spec) (child Child, unpin func(), err error)

// deps are the outside world of one run: production values come from
// realDeps, tests give fakes.
type deps struct {
	locker  locker
	start   starter
	signals <-chan os.Signal
	// killStrays kills and reaps what processes started under the lock
	// left behind (supervise.KillStrays, the default), by deadline.
	killStrays func(deadline time.Time) error
}
