// Package health says what a running zkfence is doing: /healthz for health
// checks (Marathon, Docker, Kubernetes), /readyz with a JSON body for people
// and tools, /metrics for Prometheus. The run pipeline reports every state
// change to a State; the HTTP server only reads snapshots of it.
//
// /healthz is 200 only while the lock is held, every guarded mount is
// healthy and the child runs; a standby answers 503 and says it is waiting,
// with its place in line.
package health

import (
	"sync"
	"time"
)

// Phase is where a run is.
type Phase string

const (
	Connecting Phase = "connecting" // dialling ZooKeeper
	Waiting    Phase = "waiting"    // in line for the lock
	Preparing  Phase = "preparing"  // lock held: storage, fence, restore
	Running    Phase = "running"    // the child runs under the lock
	Stopping   Phase = "stopping"   // the child is being stopped
	Stopped    Phase = "stopped"    // done; the process is about to exit
)

// Snapshot is the JSON body of /readyz.
type Snapshot struct {
	State          Phase    `json:"state"`
	Cause          string   `json:"cause,omitempty"`
	Lock           string   `json:"lock"`
	Token          int64    `json:"token,omitempty"`
	Holder         string   `json:"holder,omitempty"`
	Ahead          int      `json:"ahead,omitempty"` // contenders ahead while waiting
	Watching       string   `json:"watching,omitempty"`
	LeaseRemaining *float64 `json:"lease_remaining_seconds,omitempty"`
	MountsOK       *bool    `json:"mounts_ok,omitempty"`
	MountError     string   `json:"mount_error,omitempty"`
	ChildPID       int      `json:"child_pid,omitempty"`
	Uptime         float64  `json:"uptime_seconds"`
}

// State is safe for concurrent use. A nil *State ignores every call, so the
// pipeline needs no checks when health reporting is off.
type State struct {
	mu      sync.Mutex
	snap    Snapshot
	started time.Time
	stopBy  func() time.Time // the lease's stop deadline, while held
	metrics *Metrics
	// takeoverM is created on first use (only waiters with
	// --fast-takeover have these metrics).
	takeoverOnce sync.Once
	takeoverM    *takeoverMetrics
}

// NewState returns the state of a run for lock path lock.
func NewState(lock string) *State {
	s := &State{snap: Snapshot{State: Connecting, Lock: lock}, started: time.Now(), metrics: newMetrics()}
	s.metrics.registry.MustRegister(newChildCollector(s.childPID), leaseCollector{s})
	return s
}

// childPID is the running child's pid, 0 when none runs.
func (s *State) childPID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap.ChildPID
}

// Snapshot returns a copy of the state, with the lease remaining computed now.
func (s *State) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := s.snap
	snap.Uptime = time.Since(s.started).Seconds()
	if s.stopBy != nil {
		left := max(time.Until(s.stopBy()).Seconds(), 0)
		snap.LeaseRemaining = &left
	}
	return snap
}

// Healthy reports whether /healthz answers 200.
func (s *State) Healthy() bool {
	snap := s.Snapshot()
	return snap.State == Running && snap.ChildPID > 0 && (snap.MountsOK == nil || *snap.MountsOK)
}

func (s *State) update(f func(*Snapshot)) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.snap)
}

// Waiting: in line, ahead contenders before us, watching one node.
func (s *State) Waiting(ahead int, watching string) {
	s.update(func(n *Snapshot) { n.State, n.Ahead, n.Watching = Waiting, ahead, watching })
	s.metricsDo(func(m *Metrics) { m.waitingAhead.Set(float64(ahead)) })
}

// Acquired: the lock is ours, with token; stopBy reads the lease deadline.
func (s *State) Acquired(token int64, holder string, stopBy func() time.Time) {
	s.update(func(n *Snapshot) {
		n.State, n.Token, n.Holder, n.Ahead, n.Watching = Preparing, token, holder, 0, ""
	})
	if s != nil {
		s.mu.Lock()
		s.stopBy = stopBy
		s.mu.Unlock()
	}
	s.metricsDo(func(m *Metrics) { m.acquired(token) })
}

// ChildStarted: the child runs.
func (s *State) ChildStarted(pid int) {
	s.update(func(n *Snapshot) { n.State, n.ChildPID = Running, pid })
	s.metricsDo(func(m *Metrics) { m.childStarts.Inc() })
}

// Mounts records the outcome of the latest mount probe.
func (s *State) Mounts(ok bool, err error, latency time.Duration) {
	s.update(func(n *Snapshot) {
		n.MountsOK, n.MountError = &ok, ""
		if err != nil {
			n.MountError = err.Error()
		}
	})
	s.metricsDo(func(m *Metrics) { m.probe(ok, latency) })
}

// Renewal records one lease renewal's round trip.
func (s *State) Renewal(rtt time.Duration, err error) {
	s.metricsDo(func(m *Metrics) { m.renewal(rtt, err) })
}

// Restored records a finished restore.
func (s *State) Restored(bytes int64, took time.Duration) {
	s.metricsDo(func(m *Metrics) { m.restored(bytes, took) })
}

// Stopping: the child is being stopped; kind is "lock", "mount", "fenced",
// "signal" or "exit".
func (s *State) Stopping(kind string, cause error) {
	s.update(func(n *Snapshot) {
		n.State = Stopping
		if cause != nil {
			n.Cause = cause.Error()
		}
	})
	s.metricsDo(func(m *Metrics) { m.lost(kind) })
}

// Stopped: the run is over and the lock released.
func (s *State) Stopped() {
	s.update(func(n *Snapshot) { n.State, n.ChildPID = Stopped, 0 })
	if s != nil {
		s.mu.Lock()
		s.stopBy = nil
		s.mu.Unlock()
	}
	s.metricsDo(func(m *Metrics) { m.lockHeld.Set(0) })
}

func (s *State) metricsDo(f func(*Metrics)) {
	if s != nil && s.metrics != nil {
		f(s.metrics)
	}
}
