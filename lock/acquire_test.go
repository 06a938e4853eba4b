package lock

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/google/uuid"
	"github.com/zkfence/zkfence/internal/testlog"
)

func TestAcquireQueuesAndHandsOver(t *testing.T) {
	needZK(t)
	p := lockPath(t)
	a, b := dial(t, server.Addr(), 10*time.Second), dial(t, server.Addr(), 10*time.Second)
	ha, err := a.Acquire(context.Background(), AcquireOptions{Path: p, Data: Self("test").Encode()})
	if err != nil {
		t.Fatal(err)
	}
	waits := make(chan Waiting, 4)
	rb := acquireAsync(context.Background(), b, AcquireOptions{Path: p, OnWait: func(w Waiting) { waits <- w }})
	requirePending(t, rb, 500*time.Millisecond)
	w := <-waits
	if w.Ahead != 1 || "/"+w.Predecessor != ha.Node[len(a.abs(p)):] {
		t.Fatalf("waiting %+v, want 1 ahead watching %s", w, ha.Node)
	}
	lease := newLease(t, a, ha, Budget{TickTime: 200 * time.Millisecond, SyncLimit: 2, Heartbeat: 200 * time.Millisecond, ClockDrift: 0.01, StopTime: 500 * time.Millisecond})
	if err := a.Release(context.Background(), lease); err != nil {
		t.Fatal(err)
	}
	r := waitResult(t, rb)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.held.Token <= ha.Token {
		t.Fatalf("token went from %d to %d: must grow", ha.Token, r.held.Token)
	}
	if err := b.deleteNode(r.held.Node); err != nil {
		t.Fatal(err)
	}
}

func TestOnlyThePredecessorIsWatched(t *testing.T) {
	needZK(t)
	p := lockPath(t)
	const n = 5
	sessions := make([]*Session, n)
	held := make([]Held, n)
	for i := range sessions {
		sessions[i] = dial(t, server.Addr(), 10*time.Second)
	}
	h0, err := sessions[0].Acquire(context.Background(), AcquireOptions{Path: p})
	if err != nil {
		t.Fatal(err)
	}
	held[0] = h0
	results := make([]<-chan acquireResult, n)
	watching := make([]chan Waiting, n)
	for i := 1; i < n; i++ {
		watching[i] = make(chan Waiting, 8)
		w := watching[i]
		results[i] = acquireAsync(context.Background(), sessions[i], AcquireOptions{Path: p, OnWait: func(x Waiting) { w <- x }})
		first := <-w // queue in order, so each one's predecessor is known
		if first.Ahead != i {
			t.Fatalf("contender %d: %d ahead, want %d", i, first.Ahead, i)
		}
	}
	// Release in order: each release must wake exactly its successor.
	for i := 0; i < n-1; i++ {
		if err := sessions[i].deleteNode(held[i].Node); err != nil {
			t.Fatal(err)
		}
		r := waitResult(t, results[i+1])
		if r.err != nil {
			t.Fatal(r.err)
		}
		held[i+1] = r.held
		for j := i + 2; j < n; j++ {
			select {
			case w := <-watching[j]:
				t.Fatalf("contender %d woke up (%+v) when contender %d released", j, w, i)
			default:
			}
		}
	}
	if err := sessions[n-1].deleteNode(held[n-1].Node); err != nil {
		t.Fatal(err)
	}
}

func TestThirdPartyContendersAreRespected(t *testing.T) {
	for _, tt := range []struct{ kind, name string }{
		{"curator", "_c_4b8f8d3a-4a0e-4b1e-9a55-0f3c7c9e2a11-lock-"},
		{"kazoo", "5f0c3b1e9d2a4c6b8e7f1a2b3c4d5e6f__lock__"},
	} {
		t.Run(tt.kind, func(t *testing.T) {
			needZK(t)
			p := lockPath(t)
			other := dial(t, server.Addr(), 10*time.Second)
			opt := AcquireOptions{ACL: zk.WorldACL(zk.PermAll), retries: 100 * time.Millisecond}
			if err := other.ensurePath(context.Background(), other.abs(p), opt); err != nil {
				t.Fatal(err)
			}
			// A child that is not a contender is ignored.
			if _, err := other.conn.Create(p+"/leases", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
				t.Fatal(err)
			}
			theirs, err := other.conn.Create(p+"/"+tt.name, []byte("10.0.0.7"), zk.FlagEphemeral|zk.FlagSequence, zk.WorldACL(zk.PermAll))
			if err != nil {
				t.Fatal(err)
			}
			ours := dial(t, server.Addr(), 10*time.Second)
			r := acquireAsync(context.Background(), ours, AcquireOptions{Path: p})
			requirePending(t, r, 700*time.Millisecond)
			if err := other.conn.Delete(theirs, -1); err != nil {
				t.Fatal(err)
			}
			got := waitResult(t, r)
			if got.err != nil {
				t.Fatal(got.err)
			}
			ours.deleteNode(got.held.Node)
			other.conn.Delete(p+"/leases", -1)
		})
	}
}

func TestCancelWhileWaitingLeavesNoNode(t *testing.T) {
	needZK(t)
	p := lockPath(t)
	a, b := dial(t, server.Addr(), 10*time.Second), dial(t, server.Addr(), 10*time.Second)
	ha, err := a.Acquire(context.Background(), AcquireOptions{Path: p})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := acquireAsync(ctx, b, AcquireOptions{Path: p})
	requirePending(t, r, 300*time.Millisecond)
	cancel()
	if got := waitResult(t, r); !errors.Is(got.err, context.Canceled) {
		t.Fatalf("Acquire after cancel: %v", got.err)
	}
	children, _, err := a.conn.Children(a.abs(p))
	if err != nil || len(children) != 1 {
		t.Fatalf("children after cancel: %v %v; want only the holder", children, err)
	}
	a.deleteNode(ha.Node)
}

// faultConn wraps a real connection and injects faults.
type faultConn struct {
	zkConn
	loseCreateAnswer atomic.Bool  // the create happens, its answer is lost
	failChildren     atomic.Int32 // this many Children calls fail with errFault
	// lagAfterLostCreate: the first Children after a lost create answers as
	// a lagging server that has not seen that create yet.
	lagAfterLostCreate atomic.Bool
	lostCreate         atomic.Pointer[string] // the node whose answer was lost
}

var errFault = errors.New("injected fault")

func (f *faultConn) Create(path string, data []byte, flags int32, acl []zk.ACL) (string, error) {
	p, err := f.zkConn.Create(path, data, flags, acl)
	if err == nil && flags&zk.FlagSequence != 0 && f.loseCreateAnswer.CompareAndSwap(true, false) {
		f.lostCreate.Store(&p)
		return "", zk.ErrConnectionClosed
	}
	return p, err
}

func (f *faultConn) Children(path string) ([]string, *zk.Stat, error) {
	if f.failChildren.Add(-1) >= 0 {
		return nil, nil, errFault
	}
	children, stat, err := f.zkConn.Children(path)
	if lost := f.lostCreate.Load(); lost != nil && err == nil && f.lagAfterLostCreate.CompareAndSwap(true, false) {
		children = slices.DeleteFunc(children, func(c string) bool { return path+"/"+c == *lost })
	}
	return children, stat, err
}

func TestCreateWithLostAnswerFindsItsNode(t *testing.T) {
	needZK(t)
	p := lockPath(t)
	s := dial(t, server.Addr(), 10*time.Second)
	f := &faultConn{zkConn: s.conn}
	f.loseCreateAnswer.Store(true)
	s.conn = f
	h, err := s.Acquire(context.Background(), AcquireOptions{Path: p})
	if err != nil {
		t.Fatal(err)
	}
	children, _, _ := f.zkConn.Children(s.abs(p))
	if len(children) != 1 || s.abs(p)+"/"+children[0] != h.Node {
		t.Fatalf("after a lost create answer: children %v, held %s; want exactly our node", children, h.Node)
	}
	s.deleteNode(h.Node)
}

func TestErrorAfterCreateDeletesTheNode(t *testing.T) {
	needZK(t)
	p := lockPath(t)
	s := dial(t, server.Addr(), 10*time.Second)
	f := &faultConn{zkConn: s.conn}
	f.failChildren.Store(1)
	s.conn = f
	if _, err := s.Acquire(context.Background(), AcquireOptions{Path: p}); !errors.Is(err, errFault) {
		t.Fatalf("Acquire = %v, want the injected fault", err)
	}
	// lockPath's cleanup checks that no node is left.
}

// dialLogged is dial with the session's log kept in the returned buffer.
func dialLogged(t *testing.T) (*Session, *testlog.Buffer) {
	t.Helper()
	logs := &testlog.Buffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := Dial(ctx, SessionConfig{Servers: []string{server.Addr()}, SessionTimeout: 10 * time.Second,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, logs
}

// requireOnlyNode checks that node is the only child of the lock path.
func requireOnlyNode(t *testing.T, s *Session, p, node string) {
	t.Helper()
	children, _, err := s.conn.Children(s.abs(p))
	if err != nil || len(children) != 1 || s.abs(p)+"/"+children[0] != node {
		t.Fatalf("children %v (%v); want only our node %s", children, err, node)
	}
}

const orphanLog = "orphan lock node of our own session"

// TestOrphanOfOurOwnSessionIsNotWaitedOn: a contender node of our own
// session ahead of ours (left by a create whose answer was lost) is deleted,
// not waited on. Waiting on it would wait forever, since only our session
// could remove it, and every contender behind us would wait on us.
func TestOrphanOfOurOwnSessionIsNotWaitedOn(t *testing.T) {
	needZK(t)
	p := lockPath(t)
	s, logs := dialLogged(t)
	opt := AcquireOptions{Path: p, retries: 100 * time.Millisecond}
	if err := s.ensurePath(context.Background(), s.abs(p), AcquireOptions{ACL: zk.WorldACL(zk.PermAll)}); err != nil {
		t.Fatal(err)
	}
	orphan, err := s.conn.Create(s.abs(p)+"/"+protectedPrefix+uuid.NewString()+curatorLockName, nil,
		zk.FlagEphemeral|zk.FlagSequence, zk.WorldACL(zk.PermAll))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h, err := s.Acquire(ctx, opt)
	if err != nil {
		s.deleteNode(orphan)
		t.Fatalf("Acquire with our own orphan %s ahead: %v", orphan, err)
	}
	requireOnlyNode(t, s, p, h.Node)
	if n := strings.Count(logs.String(), orphanLog); n != 1 {
		t.Errorf("the orphan's deletion was logged %d times, want once", n)
	}
	s.deleteNode(h.Node)
}

// TestLostCreateRetriedOnALaggingServer is the way such an orphan is made:
// the create succeeds but its answer is lost, and the server we reconnect to
// has not seen it yet, so the lookup by uuid misses it and a second create
// follows. The first node, ahead of the second, is ours and must not be
// waited on.
func TestLostCreateRetriedOnALaggingServer(t *testing.T) {
	needZK(t)
	p := lockPath(t)
	s, logs := dialLogged(t)
	f := &faultConn{zkConn: s.conn}
	f.loseCreateAnswer.Store(true)
	f.lagAfterLostCreate.Store(true)
	s.conn = f
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h, err := s.Acquire(ctx, AcquireOptions{Path: p, retries: 100 * time.Millisecond})
	if lost := f.lostCreate.Load(); lost == nil || *lost == h.Node {
		t.Fatalf("the fault was not injected as planned (lost create %v, held %s)", lost, h.Node)
	}
	if err != nil {
		s.deleteNode(*f.lostCreate.Load())
		t.Fatalf("Acquire behind its own orphan: %v", err)
	}
	requireOnlyNode(t, s, p, h.Node)
	if n := strings.Count(logs.String(), orphanLog); n != 1 {
		t.Errorf("the orphan's deletion was logged %d times, want once", n)
	}
	s.deleteNode(h.Node)
}
