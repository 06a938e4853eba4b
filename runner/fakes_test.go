package runner

import (
	"context"
	"errors"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/zkfence/zkfence/internal/clock"
	"github.com/zkfence/zkfence/lock"
	"github.com/zkfence/zkfence/supervise"
)

// The fakes of the phase-table suite: a lease, a held lock, a child and
// storage, each recording what the run did to it.

// events records what happened, in order, for the table's assertions.
type events struct {
	mu  sync.Mutex
	log []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log = append(e.log, s)
}

func (e *events) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.log...)
}

// fakeLease is a lease whose deadlines are StopAfter/KillAfter past its
// start on the fake clock (it is never renewed) and which a test ends.
type fakeLease struct {
	clk            *clock.Fake
	stopBy, killBy time.Time
	mu             sync.Mutex
	err            error
	lost           chan struct{}
	gone           chan struct{}
	// onKillBy, if set, runs at each KillBy call (a loss at that instant).
	onKillBy func()
}

func newFakeLease(clk *clock.Fake, stopAfter, killAfter time.Duration) *fakeLease {
	now := clk.Now()
	return &fakeLease{clk: clk, stopBy: now.Add(stopAfter), killBy: now.Add(killAfter), lost: make(chan struct{}), gone: make(chan struct{})}
}

func (l *fakeLease) Token() int64          { return 42 }
func (l *fakeLease) Node() string          { return "/svc/_c_x-lock-0000000007" }
func (l *fakeLease) Lost() <-chan struct{} { return l.lost }
func (l *fakeLease) StopBy() time.Time     { return l.stopBy }
func (l *fakeLease) KillBy() time.Time {
	l.mu.Lock()
	f := l.onKillBy
	l.mu.Unlock()
	if f != nil {
		f()
	}
	return l.killBy
}
func (l *fakeLease) Overdue() bool { return !l.clk.Now().Before(l.stopBy) }
func (l *fakeLease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// lose ends the lease with err, as package lock does.
func (l *fakeLease) lose(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = err
		close(l.lost)
		if lock.Definitive(err) {
			close(l.gone)
		}
	}
}

// goneLater reports a definitive loss after the lease already ended at its
// deadline, as package lock does (Err becomes err, Gone closes).
func (l *fakeLease) goneLater(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.err = err
	close(l.gone)
}

// Gone is closed once the loss is definitive.
func (l *fakeLease) Gone() <-chan struct{} { return l.gone }

// fakeHolding is the held lock, with an in-memory fence state.
type fakeHolding struct {
	lease *fakeLease
	ev    *events
	mu    sync.Mutex
	state lock.VersionedFenceState
	// nodeGone makes every write fail as ZooKeeper's does once our lock
	// node was deleted (lock.ErrLockNodeGone).
	nodeGone bool
}

func (h *fakeHolding) Lease() Lease { return h.lease }

func (h *fakeHolding) ReadFenceState(context.Context) (lock.VersionedFenceState, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.state, nil
}

func (h *fakeHolding) WriteFenceState(_ context.Context, prev lock.VersionedFenceState, st lock.FenceState) (lock.VersionedFenceState, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.nodeGone {
		return prev, lock.ErrLockNodeGone
	}
	if prev.Version != h.state.Version {
		return prev, lock.ErrFenceStateChanged
	}
	h.state = lock.VersionedFenceState{FenceState: st, Version: h.state.Version + 1}
	if st.Released {
		h.ev.add("fence state released")
	} else {
		h.ev.add("fence state claimed")
	}
	return h.state, nil
}

func (h *fakeHolding) Release(context.Context) error { h.ev.add("lock released"); return nil }
func (h *fakeHolding) Abandon()                      { h.ev.add("lock abandoned") }

// fakeLocker grants the holding once grant is closed (nil: at once).
type fakeLocker struct {
	h     *fakeHolding
	grant chan struct{}
}

func (f *fakeLocker) Lock(ctx context.Context) (Holding, error) {
	if f.grant != nil {
		select {
		case <-f.grant:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.h.ev.add("lock acquired")
	return f.h, nil
}

// fakeChild is the child tree. trap makes it ignore the stop signal: only
// SIGKILL (the end of Stop's ctx) ends it. stopErr makes every Stop fail
// (a tree that does not die).
type fakeChild struct {
	ev      *events
	done    chan struct{}
	code    int
	trap    bool
	stopErr error
	once    sync.Once
}

func (c *fakeChild) Pid() int              { return 4242 }
func (c *fakeChild) Done() <-chan struct{} { return c.done }
func (c *fakeChild) ExitCode() int         { return c.code }
func (c *fakeChild) Forward(sig os.Signal) {
	c.ev.add("forward " + supervise.SignalName(sig.(syscall.Signal)))
}

func (c *fakeChild) exit(code int) {
	c.code = code
	c.once.Do(func() { close(c.done) })
}

func (c *fakeChild) Stop(ctx context.Context, p supervise.StopPolicy) error {
	if p.Signal == syscall.SIGKILL {
		c.ev.add("stop SIGKILL")
	} else {
		c.ev.add("stop " + supervise.SignalName(p.Signal) + " grace " + p.Grace.String())
		if c.trap {
			<-ctx.Done() // Stop sends SIGKILL when its ctx ends
			c.ev.add("KILL after the grace was cut")
		}
	}
	if c.stopErr != nil {
		return c.stopErr
	}
	c.exit(128 + 9)
	return nil
}

// fakeStorage is guarded storage whose Prepare runs prepare (if set).
type fakeStorage struct {
	ev         *events
	prepare    func(ctx context.Context) error
	releaseErr error
	lost       chan struct{}
	lostErr    error
	// roots are the mount points Roots reports (where the fence records
	// live); heldOnError makes a failed Prepare return the storage with its
	// error, as fsguard does when it could not unmount what it mounted.
	roots       []string
	heldOnError bool
	// readable are the mount points Readable reports (shared filesystems
	// mounted before Prepare); each read is recorded.
	readable []string
}

func (s *fakeStorage) Prepare(ctx context.Context) (Guarded, error) {
	s.ev.add("storage prepare")
	if s.prepare != nil {
		if err := s.prepare(ctx); err != nil {
			if s.heldOnError {
				return s, err
			}
			return nil, err
		}
	}
	return s, nil
}

func (s *fakeStorage) Readable() []string {
	if len(s.readable) > 0 {
		s.ev.add("storage readable")
	}
	return s.readable
}

func (s *fakeStorage) Roots() []string { return s.roots }
func (s *fakeStorage) Watch() Watcher  { return s }
func (s *fakeStorage) Release(context.Context) error {
	s.ev.add("storage release")
	return s.releaseErr
}
func (s *fakeStorage) Lost() <-chan struct{} { return s.lost }
func (s *fakeStorage) Err() error            { return s.lostErr }
func (s *fakeStorage) Stop()                 {}

// fakeRestorer runs restore (if set).
type fakeRestorer struct {
	restore func(ctx context.Context) error
}

func (f fakeRestorer) Restore(ctx context.Context, _ int64) error {
	if f.restore == nil {
		return nil
	}
	return f.restore(ctx)
}

var errTreeSurvives = errors.New("pid 4243 survives SIGKILL (uninterruptible sleep)")

var errMountGone = errors.New("mount lost: ENOTCONN")

// fakeFencer records fence actions; offErr makes Off fail, block makes it
// wait until its ctx ends.
type fakeFencer struct {
	ev     *events
	offErr error
	block  bool
}

func (f *fakeFencer) Off(ctx context.Context, id string) error {
	f.ev.add("fence off " + id)
	if f.block {
		<-ctx.Done()
		return ctx.Err()
	}
	return f.offErr
}

func (f *fakeFencer) Unfence(_ context.Context, id string) error {
	f.ev.add("unfence " + id)
	return nil
}
