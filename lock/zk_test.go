package lock

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/goleak"

	"github.com/zkfence/zkfence/internal/testmain"
	"github.com/zkfence/zkfence/internal/zkserver"
)

// server is one standalone ZooKeeper shared by the package's tests; each
// test uses its own lock path.
var server *zkserver.Server

// leaseHarnessRenewal is the fake renewal of lease_test.go, blocked until a
// test answers it: one the lease starts after a test's last answer is never
// answered, and its goroutine outlives the test. A real renewal is a
// ZooKeeper request, which ends at its timeout, and its result goes to a
// buffered channel, so the lease itself leaves nothing behind.
var leaseHarnessRenewal = goleak.IgnoreAnyFunction("github.com/zkfence/zkfence/lock.newLeaseHarness.func1")

func TestMain(m *testing.M) {
	flag.Parse()
	testmain.Setup()
	if testing.Short() {
		os.Exit(testmain.Check(m.Run(), leaseHarnessRenewal))
	}
	s, stop, err := zkserver.StartMain(zkserver.Options{TickTime: 200 * time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	server = s
	code := m.Run()
	if code != 0 {
		fmt.Fprintln(os.Stderr, s.LogTail(40))
	}
	stop()
	os.Exit(testmain.Check(code, leaseHarnessRenewal))
}

func needZK(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no ZooKeeper")
	}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// dial opens a session to addr that is closed when the test ends.
func dial(t *testing.T, addr string, timeout time.Duration) *Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := Dial(ctx, SessionConfig{Servers: []string{addr}, SessionTimeout: timeout, Logger: quiet})
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(s.Close)
	return s
}

// lockPath returns a lock path of the test's own, and checks when the test
// ends that no lock node is left behind.
func lockPath(t *testing.T) string {
	t.Helper()
	p := "/test/" + strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	t.Cleanup(func() {
		s := dial(t, server.Addr(), 10*time.Second)
		deadline := time.Now().Add(15 * time.Second)
		for {
			children, _, err := s.conn.Children(p)
			if err == zk.ErrNoNode || (err == nil && len(children) == 0) {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("lock nodes left behind under %s: %v (%v)", p, children, err)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	return p
}

// acquireAsync starts an Acquire and returns a channel with its result.
func acquireAsync(ctx context.Context, s *Session, opt AcquireOptions) <-chan acquireResult {
	out := make(chan acquireResult, 1)
	go func() {
		h, err := s.Acquire(ctx, opt)
		out <- acquireResult{h, err}
	}()
	return out
}

type acquireResult struct {
	held Held
	err  error
}

func waitResult(t *testing.T, c <-chan acquireResult) acquireResult {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("Acquire did not return")
		return acquireResult{}
	}
}

func requirePending(t *testing.T, c <-chan acquireResult, d time.Duration) {
	t.Helper()
	select {
	case r := <-c:
		t.Fatalf("Acquire returned while the lock was held: %+v", r)
	case <-time.After(d):
	}
}
