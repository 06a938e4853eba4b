package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zkfence/zkfence/fence"
	"github.com/zkfence/zkfence/internal/clock"
	"github.com/zkfence/zkfence/internal/fstest"
	"github.com/zkfence/zkfence/internal/heldexec"
	"github.com/zkfence/zkfence/internal/testlog"
	"github.com/zkfence/zkfence/lock"
	"github.com/zkfence/zkfence/supervise"
)

// The phase table: each row is one scenario of `zkfence run`, run in-process
// on fakes (a lease on a fake clock, a held lock with its fence state, a
// child, storage), with the actions the run must take, in order, the
// actions it must never take, its error and its log lines. In the style of
// tailscale's cmd/containerboot/main_test.go.

// harness is one run on fakes.
type harness struct {
	t       *testing.T
	clk     *clock.Fake
	ev      *events
	lease   *fakeLease
	hold    *fakeHolding
	locker  *fakeLocker
	child   *fakeChild
	storage *fakeStorage
	sigs    chan os.Signal
	logs    *testlog.Buffer
	cfg     Config
	started chan struct{}
	// stopAfter and killAfter place the lease's deadlines (never renewed).
	stopAfter, killAfter time.Duration
	pidFile              string
}

func newHarness(t *testing.T) *harness {
	clk := clock.NewFake(time.Now()) // near real time: Stop's ctx counts in real time
	ev := &events{}
	h := &harness{t: t, clk: clk, ev: ev, sigs: make(chan os.Signal, 4), logs: &testlog.Buffer{},
		started: make(chan struct{}), stopAfter: 4 * time.Second, killAfter: 8 * time.Second}
	h.hold = &fakeHolding{ev: ev, state: lock.VersionedFenceState{Version: -1}}
	h.locker = &fakeLocker{h: h.hold}
	h.child = &fakeChild{ev: ev, done: make(chan struct{})}
	h.cfg = Config{
		LockPath: "/svc", Command: []string{"db"}, StopSignal: syscall.SIGINT, StopGrace: 3 * time.Second,
		Budget: lock.Budget{Heartbeat: 500 * time.Millisecond},
		Logger: slog.New(slog.NewTextHandler(h.logs, nil)), Clock: clk,
	}
	return h
}

// run starts the run and returns its result channel.
func (h *harness) run() <-chan error {
	h.lease = newFakeLease(h.clk, h.stopAfter, h.killAfter)
	h.hold.lease = h.lease
	start := func(supervise.Spec) (Child, func(), error) {
		h.ev.add("child started")
		close(h.started)
		return h.child, func() {}, nil
	}
	r := newRun(h.cfg, deps{locker: h.locker, start: start, signals: h.sigs})
	out := make(chan error, 1)
	go func() { out <- r.run(context.Background()) }()
	return out
}

func (h *harness) waitStarted() {
	h.t.Helper()
	select {
	case <-h.started:
	case <-time.After(5 * time.Second):
		h.t.Fatalf("the child did not start; events %v", h.ev.list())
	}
}

// waitEvent waits until an event starting with prefix happened.
func (h *harness) waitEvent(prefix string) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, e := range h.ev.list() {
			if strings.HasPrefix(e, prefix) {
				return
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	h.t.Fatalf("no event %q; events %v", prefix, h.ev.list())
}

// waitTimers waits until n fake timers are armed (the run is waiting).
func (h *harness) waitTimers(n int) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.clk.Waiters() < n {
		if time.Now().After(deadline) {
			h.t.Fatalf("the run armed %d timers, want %d; events %v", h.clk.Waiters(), n, h.ev.list())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (h *harness) withStorage() *fakeStorage {
	h.storage = &fakeStorage{ev: h.ev, lost: make(chan struct{}), lostErr: errMountGone}
	h.cfg.Storage = h.storage
	return h.storage
}

// withFencer gives the run a fake fence agent and this node's fence id.
func (h *harness) withFencer(fenceID string) *fakeFencer {
	f := &fakeFencer{ev: h.ev}
	h.cfg.Fencer, h.cfg.FenceID = f, fenceID
	return f
}

type phase struct {
	name    string
	setup   func(h *harness)
	drive   func(h *harness)
	want    []string // events, in this order (others may come between)
	notWant []string // events that must not happen (prefixes)
	errIs   []error  // the run's error wraps each of these; none: nil
	code    int      // a *ChildExit with this code, when non-zero
	logs    []string // substrings of the log
}

var deleted = []struct {
	name string
	err  error
}{
	{"lock node deleted", lock.ErrNodeGone},
	{"lock node owned by another session", lock.ErrNotOwner},
	{"session expired", lock.ErrSessionExpired},
	{"session replaced", lock.ErrSessionReplaced},
}

func phases() []phase {
	ps := []phase{
		{
			name:  "child exits 0: everything released at once",
			drive: func(h *harness) { h.waitStarted(); h.child.exit(0) },
			want:  []string{"lock acquired", "fence state claimed", "child started", "stop SIGINT grace 3s", "fence state released", "lock released"},
		},
		{
			name:  "child exits 3: its code is passed on",
			drive: func(h *harness) { h.waitStarted(); h.child.exit(3) },
			want:  []string{"child started", "lock released"},
			code:  3,
		},
		{
			name:  "lease deadline: graceful stop, nobody can hold the lock yet",
			drive: func(h *harness) { h.waitStarted(); h.lease.lose(lock.ErrLeaseDeadline) },
			want:  []string{"child started", "stop SIGINT grace 3s", "fence state released", "lock released"},
			errIs: []error{ErrLockLost, lock.ErrLeaseDeadline},
		},
		{
			// The lease's own goroutine is stuck (a log write on a
			// stalled stderr): the run follows the deadline itself.
			name:  "lease overdue while its loop is stuck: stopped at the deadline",
			drive: func(h *harness) { h.waitStarted(); h.waitTimers(1); h.clk.Advance(h.stopAfter) },
			want:  []string{"child started", "stop SIGINT grace 3s", "lock released"},
			errIs: []error{ErrLockLost, lock.ErrLeaseDeadline},
		},
		{
			name: "mount lost: graceful stop, the volume left for the next holder",
			setup: func(h *harness) {
				h.withStorage()
			},
			drive:   func(h *harness) { h.waitStarted(); close(h.storage.lost) },
			want:    []string{"storage prepare", "child started", "stop SIGINT grace 3s", "storage release", "fence state released", "lock released"},
			notWant: []string{"stop SIGKILL"},
			errIs:   []error{errMountGone},
		},
		{
			name: "mount lost, then the lock node deleted during the grace: SIGKILL at once",
			setup: func(h *harness) {
				h.withStorage()
				h.child.trap = true
			},
			drive: func(h *harness) {
				h.waitStarted()
				close(h.storage.lost)
				h.waitEvent("stop SIGINT")
				h.lease.lose(lock.ErrNodeGone)
				h.waitEvent("KILL after the grace was cut") // within 5 s; the grace would last 8
			},
			want:  []string{"stop SIGINT grace 3s", "KILL after the grace was cut"},
			errIs: []error{errMountGone},
		},
		{
			name:    "signal while waiting for the lock: nothing starts",
			setup:   func(h *harness) { h.locker.grant = make(chan struct{}) },
			drive:   func(h *harness) { h.sigs <- syscall.SIGTERM },
			notWant: []string{"lock acquired", "child started"},
			errIs:   []error{errInterrupted},
			logs:    []string{"stopped before the child started"},
		},
		{
			name: "non-terminating signal while waiting: ignored",
			setup: func(h *harness) {
				h.locker.grant = make(chan struct{})
			},
			drive: func(h *harness) {
				h.sigs <- syscall.SIGHUP
				h.sigs <- syscall.SIGINT
			},
			notWant: []string{"child started"},
			errIs:   []error{errInterrupted},
			logs:    []string{"signal ignored before the child started"},
		},
		{
			name: "tree not confirmed dead: the lock is kept to expire",
			setup: func(h *harness) {
				h.child.stopErr = errTreeSurvives
			},
			drive:   func(h *harness) { h.waitStarted(); h.lease.lose(lock.ErrLeaseDeadline) },
			want:    []string{"child started", "stop SIGINT grace 3s", "lock abandoned"},
			notWant: []string{"lock released", "fence state released"},
			errIs:   []error{ErrNotReleased, ErrStopFailed, ErrLockLost},
			logs:    []string{"NOT releasing the lock"},
		},
		{
			name: "device not unmounted: the lock is kept to expire",
			setup: func(h *harness) {
				h.withStorage().releaseErr = errors.New("umount /data: target is busy")
			},
			drive:   func(h *harness) { h.waitStarted(); h.child.exit(0) },
			want:    []string{"child started", "storage release", "lock abandoned"},
			notWant: []string{"lock released", "fence state released"},
			errIs:   []error{ErrNotReleased},
		},
		{
			name: "previous holder did not release: storage waits out the lock-delay",
			setup: func(h *harness) {
				h.stopAfter, h.killAfter = time.Minute, time.Minute+4*time.Second
				h.hold.state = lock.VersionedFenceState{FenceState: lock.FenceState{Service: "/svc", Token: 41}, Version: 3}
				h.withStorage()
				h.cfg.Fence = &FenceConfig{LockDelay: 5 * time.Second}
			},
			drive: func(h *harness) {
				h.waitTimers(2) // the lease follower and the lock-delay
				h.clk.Advance(4900 * time.Millisecond)
				time.Sleep(20 * time.Millisecond)
				for _, e := range h.ev.list() {
					if e == "storage prepare" {
						h.t.Fatalf("storage touched %v before the lock-delay ended", 4900*time.Millisecond)
					}
				}
				h.clk.Advance(100 * time.Millisecond)
				h.waitStarted()
				h.child.exit(0)
			},
			want: []string{"lock acquired", "fence state claimed", "storage prepare", "child started"},
			logs: []string{"previous holder did not release cleanly"},
		},
		{
			name: "previous holder released cleanly: no wait",
			setup: func(h *harness) {
				h.hold.state = lock.VersionedFenceState{FenceState: lock.FenceState{Service: "/svc", Token: 41, Released: true}, Version: 3}
				h.withStorage()
				h.cfg.Fence = &FenceConfig{LockDelay: time.Hour}
			},
			drive: func(h *harness) { h.waitStarted(); h.child.exit(0) },
			want:  []string{"fence state claimed", "storage prepare", "child started"},
			logs:  []string{"previous holder released cleanly"},
		},
		{
			name: "fence state names a newer token: refused before storage",
			setup: func(h *harness) {
				h.hold.state = lock.VersionedFenceState{FenceState: lock.FenceState{Service: "/svc", Token: 50}, Version: 9}
				h.withStorage()
			},
			notWant: []string{"storage prepare", "child started", "fence state claimed"},
			errIs:   []error{fence.ErrFenced},
		},
		{
			name: "our lock node deleted before we recorded ourselves: refused before storage",
			setup: func(h *harness) {
				h.hold.state = lock.VersionedFenceState{FenceState: lock.FenceState{Service: "/svc", Token: 41, Released: true}, Version: 3}
				h.hold.nodeGone = true
				h.withStorage()
			},
			notWant: []string{"storage prepare", "child started", "fence state claimed"},
			errIs:   []error{fence.ErrFenced},
		},
		{
			name: "a process under the lock that ignores SIGTERM dies when the lease ends",
			setup: func(h *harness) {
				s := h.withStorage()
				pidFile := filepath.Join(h.t.TempDir(), "pid")
				s.prepare = func(ctx context.Context) error {
					cmd := heldexec.Command(ctx, "/bin/sh", "-c", `trap "" TERM; echo $$ > `+pidFile+`; sleep 30`)
					err := heldexec.Run(cmd)
					h.ev.add("fsck ended")
					if pid := fstest.PidFile(pidFile); pid > 0 && syscall.Kill(pid, 0) == nil && !fstest.Zombie(pid) {
						h.ev.add(fmt.Sprintf("fsck pid %d STILL ALIVE", pid))
					}
					return err
				}
				h.storage.ev = h.ev
				h.cfg.Storage = s
				h.t.Cleanup(func() {
					if pid := fstest.PidFile(pidFile); pid > 0 { // kill(0) would hit the test's own group
						syscall.Kill(pid, syscall.SIGKILL)
					}
				})
				h.pidFile = pidFile
			},
			drive: func(h *harness) {
				fstest.WaitPidFile(h.pidFile, 5*time.Second)
				h.lease.lose(lock.ErrLeaseDeadline)
			},
			want:    []string{"storage prepare", "fsck ended"},
			notWant: []string{"child started", "fsck pid"},
			errIs:   []error{ErrLockLost},
		},
	}
	ps = append(ps, fencingPhases()...)
	for _, d := range deleted {
		ps = append(ps, phase{
			name:    d.name + ": ZooKeeper already let go, SIGKILL at once",
			setup:   func(h *harness) { h.child.trap = true },
			drive:   func(h *harness) { h.waitStarted(); h.lease.lose(d.err) },
			want:    []string{"child started", "stop SIGKILL"},
			notWant: []string{"stop SIGINT"},
			errIs:   []error{ErrLockLost, d.err},
		})
	}
	return ps
}

// errInterrupted stands for *Interrupted in errIs.
var errInterrupted = errors.New("interrupted")

func TestPhases(t *testing.T) {
	for _, p := range phases() {
		t.Run(p.name, func(t *testing.T) {
			h := newHarness(t)
			if p.setup != nil {
				p.setup(h)
			}
			out := h.run()
			if p.drive != nil {
				p.drive(h)
			}
			var err error
			select {
			case err = <-out:
			case <-time.After(10 * time.Second):
				t.Fatalf("the run did not end; events %v", h.ev.list())
			}
			h.check(p, err)
		})
	}
}

// A terminating signal that comes as the preparation finishes ends the run
// before the child starts. The restorer queues the signal as it returns, so
// the run sees both at once; 20 tries make a run that starts the child in
// this race fail with near certainty.
func TestLateSignalNeverStartsTheChild(t *testing.T) {
	for i := range 20 {
		h := newHarness(t)
		h.cfg.Restorer = fakeRestorer{restore: func(context.Context) error {
			h.sigs <- syscall.SIGTERM
			return nil
		}}
		var err error
		select {
		case err = <-h.run():
		case <-time.After(10 * time.Second):
			t.Fatalf("try %d: the run did not end; events %v", i, h.ev.list())
		}
		h.check(phase{notWant: []string{"child started"}, errIs: []error{errInterrupted}}, err)
	}
}

func (h *harness) check(p phase, err error) {
	h.t.Helper()
	got := h.ev.list()
	if !inOrder(got, p.want) {
		h.t.Errorf("events %q, want in order %q", got, p.want)
	}
	for _, bad := range p.notWant {
		for _, e := range got {
			if strings.HasPrefix(e, bad) {
				h.t.Errorf("event %q happened (events %q)", e, got)
			}
		}
	}
	var exit *ChildExit
	var intr *Interrupted
	switch {
	case p.code != 0:
		if !errors.As(err, &exit) || exit.Code != p.code {
			h.t.Errorf("error %v, want child exit %d", err, p.code)
		}
	case len(p.errIs) == 0 && err != nil:
		h.t.Errorf("error %v, want nil", err)
	}
	for _, want := range p.errIs {
		if want == errInterrupted {
			if !errors.As(err, &intr) {
				h.t.Errorf("error %v, want *Interrupted", err)
			}
			continue
		}
		if !errors.Is(err, want) {
			h.t.Errorf("error %v, want it to wrap %v", err, want)
		}
	}
	logs := h.logs.String()
	for _, want := range p.logs {
		if !strings.Contains(logs, want) {
			h.t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

// inOrder reports whether want appears in got as a subsequence.
func inOrder(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// unclean is a previous holder that did not release, with a fence id.
var unclean = lock.VersionedFenceState{FenceState: lock.FenceState{Service: "/svc", Token: 41, FenceID: "node-a"}, Version: 3}

func fencingPhases() []phase {
	withFencer := func(h *harness, f *fakeFencer) {
		f.ev = h.ev
		h.cfg.Fencer, h.cfg.FenceID = f, "node-b"
		h.hold.state = unclean
		h.withStorage()
		h.cfg.Fence = &FenceConfig{LockDelay: time.Hour} // a wait would time the test out
	}
	return []phase{
		{
			name:  "unclean previous holder fenced and confirmed off: no lock-delay, then unfence, then storage",
			setup: func(h *harness) { withFencer(h, &fakeFencer{}) },
			drive: func(h *harness) {
				h.waitStarted()
				if got := h.hold.state.Takeover; got != "fenced node-a" {
					h.t.Errorf("fence state takeover %q, want %q", got, "fenced node-a")
				}
				if got := h.hold.state.FenceID; got != "node-b" {
					h.t.Errorf("fence state records fence id %q, want ours", got)
				}
				h.child.exit(0)
			},
			want: []string{"lock acquired", "fence off node-a", "unfence node-b", "fence state claimed", "storage prepare", "child started"},
			logs: []string{"previous holder fenced"},
		},
		{
			name: "fencing fails, not required: FENCING FAILED, the lock-delay is waited out",
			setup: func(h *harness) {
				withFencer(h, &fakeFencer{offErr: errors.New("agent exited 1")})
				h.cfg.Fence.LockDelay = 5 * time.Second
				h.stopAfter, h.killAfter = time.Minute, time.Minute+4*time.Second
			},
			drive: func(h *harness) {
				h.waitEvent("fence off")
				h.waitTimers(2)
				h.clk.Advance(5 * time.Second)
				h.waitStarted()
				h.child.exit(0)
			},
			want: []string{"fence off node-a", "fence state claimed", "storage prepare", "child started"},
			logs: []string{"FENCING FAILED"},
		},
		{
			name: "fencing fails, required: nothing is touched",
			setup: func(h *harness) {
				withFencer(h, &fakeFencer{offErr: errors.New("agent exited 1")})
				h.cfg.FenceRequired = true
			},
			want:    []string{"fence off node-a", "lock released"},
			notWant: []string{"storage prepare", "child started", "fence state claimed"},
			errIs:   []error{ErrFencingFailed},
		},
		{
			name: "previous holder without a fence id, fencing required: refused",
			setup: func(h *harness) {
				withFencer(h, &fakeFencer{})
				h.hold.state.FenceID = ""
				h.cfg.FenceRequired = true
			},
			notWant: []string{"fence off", "storage prepare", "child started"},
			errIs:   []error{ErrFencingFailed},
		},
		{
			// --fence-peers given: an id from ZooKeeper must be listed too.
			name: "ZooKeeper names node-y, not in --fence-peers, required: not fenced, refused",
			setup: func(h *harness) {
				withFencer(h, &fakeFencer{})
				h.hold.state.FenceID = "node-y"
				h.cfg.FencePeers = []string{"node-a", "node-c"}
				h.cfg.FenceRequired = true
			},
			want:    []string{"lock acquired", "lock released"},
			notWant: []string{"fence off", "storage prepare", "child started", "fence state claimed"},
			errIs:   []error{ErrFencingFailed},
		},
		{
			name: "ZooKeeper names node-y, not in --fence-peers, not required: not fenced, FENCING FAILED, the lock-delay",
			setup: func(h *harness) {
				withFencer(h, &fakeFencer{})
				h.hold.state.FenceID = "node-y"
				h.cfg.FencePeers = []string{"node-a"}
				h.cfg.Fence.LockDelay = 5 * time.Second
				h.stopAfter, h.killAfter = time.Minute, time.Minute+4*time.Second
			},
			drive: func(h *harness) {
				h.waitTimers(2)
				h.clk.Advance(5 * time.Second)
				h.waitStarted()
				if got := h.hold.state.Takeover; got != "FENCING FAILED, waited lock-delay" {
					h.t.Errorf("fence state takeover %q", got)
				}
				h.child.exit(0)
			},
			want:    []string{"fence state claimed", "storage prepare", "child started"},
			notWant: []string{"fence off"},
			logs:    []string{"FENCING FAILED", `fence id \"node-y\" is not in --fence-peers`},
		},
		{
			name: "ZooKeeper names node-a, listed in --fence-peers: fenced",
			setup: func(h *harness) {
				withFencer(h, &fakeFencer{})
				h.cfg.FencePeers = []string{"node-c", "node-a"}
			},
			drive: func(h *harness) { h.waitStarted(); h.child.exit(0) },
			want:  []string{"fence off node-a", "unfence node-b", "fence state claimed", "storage prepare", "child started"},
		},
		{
			name:    "lease lost while fencing: nothing starts",
			setup:   func(h *harness) { withFencer(h, &fakeFencer{block: true}) },
			drive:   func(h *harness) { h.waitEvent("fence off"); h.lease.lose(lock.ErrSessionExpired) },
			notWant: []string{"storage prepare", "child started"},
			errIs:   []error{ErrLockLost},
		},
		{
			name: "previous holder fenced by its first waiter (fast takeover): neither fenced again nor waited out",
			setup: func(h *harness) {
				withFencer(h, &fakeFencer{})
				h.hold.state.FencedBy = "node-c"
			},
			drive:   func(h *harness) { h.waitStarted(); h.child.exit(0) },
			want:    []string{"fence state claimed", "storage prepare", "child started"},
			notWant: []string{"fence off"},
			logs:    []string{"by its first waiter"},
		},
		{
			name: "previous holder ran on this node (same fence id): not fenced, waited out",
			setup: func(h *harness) {
				withFencer(h, &fakeFencer{})
				h.cfg.FenceID = "node-a"
				h.cfg.Fence.LockDelay = time.Second
				h.stopAfter, h.killAfter = time.Minute, time.Minute+4*time.Second
			},
			drive: func(h *harness) {
				h.waitTimers(2)
				h.clk.Advance(time.Second)
				h.waitStarted()
				h.child.exit(0)
			},
			want:    []string{"fence state claimed", "storage prepare", "child started"},
			notWant: []string{"fence off"},
			logs:    []string{"same fence id"},
		},
		{
			name: "attach runs after the takeover and before storage; detach after the unmount",
			setup: func(h *harness) {
				withFencer(h, &fakeFencer{})
				out := filepath.Join(h.t.TempDir(), "attach.log")
				h.cfg.Attach = &Attach{Cmd: `echo "attach $ZKFENCE_TOKEN $ZKFENCE_PREVIOUS_FENCE_ID" >> ` + out,
					Detach: `echo detach >> ` + out}
				h.storage.prepare = func(context.Context) error {
					b, _ := os.ReadFile(out)
					h.ev.add("storage saw: " + strings.TrimSpace(string(b)))
					return nil
				}
				h.pidFile = out
			},
			drive: func(h *harness) {
				h.waitStarted()
				h.child.exit(0)
			},
			want: []string{"fence off node-a", "storage saw: attach 42 node-a", "child started", "storage release", "lock released"},
		},
	}
}
