package runner

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zkfence/zkfence/internal/clock"
	"github.com/zkfence/zkfence/internal/testlog"
	"github.com/zkfence/zkfence/internal/zkserver"
	"github.com/zkfence/zkfence/lock"
)

// tokenLease is a fakeLease with a real token (a czxid of the test's server).
type tokenLease struct {
	*fakeLease
	token int64
}

func (l tokenLease) Token() int64 { return l.token }

func dialZK(t *testing.T, addr string) *lock.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := lock.Dial(ctx, lock.SessionConfig{Servers: []string{addr}, SessionTimeout: 4 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Review of issues 17/21: the first waiter fences a holder that had not yet
// written itself into the fence state (it was still fencing, or waiting out,
// ITS predecessor when it died). The previous holder A never released and
// was never confirmed off: a frozen node that may thaw and write. The waiter
// must not replace A's unsettled state by a FencedBy for B: the next holder
// would trust it and neither fence A nor wait out the lock-delay.
//
//  1. A holds (token tA), writes {tA, fence id node-a, not released}, then its
//     session goes (A frozen past its session timeout).
//  2. B acquires (token tB) and starts fencing node-a (takeover.go:318), then
//     B's node dies: B's state is never written.
//  3. C, B's first waiter, probes B, fails, fences node-b, reads the state
//     (A's: tA < tB) and writes {tB, FencedBy node-c} over it
//     (fasttakeover.go:532), then deletes B's node.
//  4. C holds; takeOver reads {tB, FencedBy} and sets r.fenced
//     (takeover.go:303): node-a is never fenced and the lock-delay skipped;
//     A thaws and writes beside C's child.
func TestFastTakeoverKeepsAnUnsettledEarlierHolder(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no ZooKeeper")
	}
	srv := zkserver.Start(t, zkserver.Options{TickTime: 200 * time.Millisecond})
	p := "/review/unsettled"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	a := dialZK(t, srv.Addr())
	heldA, err := a.Acquire(ctx, lock.AcquireOptions{Path: p, Data: lock.Holder{Host: "a", FenceID: "node-a"}.Encode()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.WriteFenceState(ctx, p, heldA.Node, lock.VersionedFenceState{Version: -1},
		lock.FenceState{Service: p, Token: heldA.Token, Holder: "a", FenceID: "node-a", Updated: time.Now()}); err != nil {
		t.Fatal(err)
	}
	a.Close() // A's session gone, its state "not released"

	b := dialZK(t, srv.Addr())
	bHolder := lock.Holder{Host: "b", FenceID: "node-b", HTTP: "127.0.0.1:1"}
	heldB, err := b.Acquire(ctx, lock.AcquireOptions{Path: p, Data: bHolder.Encode()})
	if err != nil {
		t.Fatal(err)
	}

	c := dialZK(t, srv.Addr())
	ev := &events{}
	fencer := &fakeFencer{ev: ev}
	clk := clock.NewFake(time.Now())
	cfg := Config{LockPath: p, Fencer: fencer, FenceID: "node-c", Clock: clk,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), FastTakeover: &FastTakeover{Probe: time.Second, After: 1}}
	name := heldB.Node[strings.LastIndex(heldB.Node, "/")+1:]
	node, err := c.ReadContender(p, name)
	if err != nil {
		t.Fatal(err)
	}
	hw := &holderWatch{sess: c, cfg: &cfg, self: lock.Holder{Host: "c", FenceID: "node-c"}, holder: name}
	if err := hw.fenceAndDelete(ctx, node, bHolder); err != nil {
		t.Fatalf("fast takeover of B: %v", err)
	}

	// C now holds the lock and takes over as run.takeOver does.
	heldC, err := c.Acquire(ctx, lock.AcquireOptions{Path: p, Data: lock.Holder{Host: "c", FenceID: "node-c"}.Encode()})
	if err != nil {
		t.Fatal(err)
	}
	prev, err := c.ReadFenceState(p)
	if err != nil {
		t.Fatal(err)
	}
	r := newRun(cfg, deps{})
	r.lease = tokenLease{newFakeLease(clk, time.Minute, time.Minute), heldC.Token}
	if _, err := r.dealWithPrevious(ctx, prev); err != nil {
		t.Fatalf("dealWithPrevious: %v", err)
	}
	var fencedA bool
	for _, e := range ev.list() {
		fencedA = fencedA || e == "fence off node-a"
	}
	if !fencedA {
		t.Fatalf("A (token %d) never released and was never fenced, yet the new holder skips it: state %+v, fence actions %v, r.fenced %v",
			heldA.Token, prev.FenceState, ev.list(), r.fenced)
	}
}

// nopTakeoverMetrics discards what the fast takeover reports.
type nopTakeoverMetrics struct{}

func (nopTakeoverMetrics) TakeoverProbe(bool)             {}
func (nopTakeoverMetrics) Takeover(string, time.Duration) {}

// --fence-peers given: the fast takeover fences a holder whose fence id
// (from its lock node's data) the list names, and no other; an unlisted
// holder is left to its session expiry, however dead it looks.
func TestFastTakeoverFencesOnlyListedPeers(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no ZooKeeper")
	}
	srv := zkserver.Start(t, zkserver.Options{TickTime: 200 * time.Millisecond})
	p := "/review/peers"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := dialZK(t, srv.Addr())
	held, err := b.Acquire(ctx, lock.AcquireOptions{Path: p, Data: lock.Holder{Host: "b", FenceID: "node-y", HTTP: "127.0.0.1:1"}.Encode()})
	if err != nil {
		t.Fatal(err)
	}
	c := dialZK(t, srv.Addr())
	ev := &events{}
	var logs strings.Builder
	cfg := Config{LockPath: p, Fencer: &fakeFencer{ev: ev}, FenceID: "node-c", FencePeers: []string{"node-a", "node-c"},
		Clock: clock.Real{}, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		FastTakeover: &FastTakeover{Probe: 20 * time.Millisecond, After: 1, ProbeTimeout: 20 * time.Millisecond}}
	hw := &holderWatch{sess: c, cfg: &cfg, self: lock.Holder{Host: "c", FenceID: "node-c"},
		holder: held.Node[strings.LastIndex(held.Node, "/")+1:], metrics: nopTakeoverMetrics{}, client: &http.Client{}}
	runCtx, stop := context.WithTimeout(ctx, 2*time.Second)
	defer stop()
	hw.run(runCtx)
	if got := ev.list(); len(got) != 0 {
		t.Fatalf("the agent was asked %v for node-y, which --fence-peers does not list", got)
	}
	if _, err := c.ReadContender(p, hw.holder); err != nil {
		t.Fatalf("the holder's lock node: %v; want it left alone", err)
	}
	if !strings.Contains(logs.String(), "not in --fence-peers") {
		t.Fatalf("log lacks the reason:\n%s", logs.String())
	}
}

// Chaos suite, issue 21: a waiter whose fast takeover is still fencing the
// holder when the lock comes to it anyway (the holder's session expired) has
// its watch cancelled, and the agent's run with it. That is no failed fence:
// the new holder fences the previous one again, as after any acquisition.
// The watch logged it as an ERROR "FENCING FAILED" (freeze and zk-cut
// trials, chaos/results/fast-takeover.md), which an operator alerting on
// failed fences would be paged for.
func TestFastTakeoverCancelledWhileFencingIsNoFailedFence(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no ZooKeeper")
	}
	srv := zkserver.Start(t, zkserver.Options{TickTime: 200 * time.Millisecond})
	p := "/review/cancelled"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	b := dialZK(t, srv.Addr())
	// Nothing listens on port 1: every probe is refused.
	heldB, err := b.Acquire(ctx, lock.AcquireOptions{Path: p, Data: lock.Holder{Host: "b", FenceID: "node-b", HTTP: "127.0.0.1:1"}.Encode()})
	if err != nil {
		t.Fatal(err)
	}
	c := dialZK(t, srv.Addr())
	ev := &events{}
	var logs testlog.Buffer
	clk := clock.NewFake(time.Now())
	cfg := Config{LockPath: p, Fencer: &fakeFencer{ev: ev, block: true}, FenceID: "node-c", Clock: clk,
		Logger:       slog.New(slog.NewTextHandler(&logs, nil)),
		FastTakeover: &FastTakeover{Probe: time.Second, After: 1, ProbeTimeout: time.Second}}
	hw := &holderWatch{sess: c, cfg: &cfg, self: lock.Holder{Host: "c", FenceID: "node-c"},
		holder: heldB.Node[strings.LastIndex(heldB.Node, "/")+1:], metrics: nopTakeoverMetrics{}, client: &http.Client{}}

	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); hw.run(wctx) }()
	fencing := func() bool { return slices.Contains(ev.list(), "fence off node-b") }
	for !fencing() {
		if ctx.Err() != nil {
			t.Fatalf("the watch never fenced the unreachable holder; log:\n%s", logs.String())
		}
		if clk.Waiters() > 0 {
			clk.Advance(time.Second)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop() // the lock came to this node: the watch ends
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("the watch did not end when cancelled")
	}
	if l := logs.String(); strings.Contains(l, "FENCING FAILED") || strings.Contains(l, "level=ERROR") {
		t.Fatalf("a watch cancelled while fencing logged a failed fence:\n%s", l)
	}
}
