package zkserver

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// testLogger sends go-zookeeper's log to t.Log while the test runs, and
// keeps every line so a test can look for one (go-zookeeper logs
// "authenticated: id=..., timeout=..." with the negotiated timeout).
type testLogger struct {
	t     testing.TB
	mu    sync.Mutex
	done  bool
	lines []string
}

func newTestLogger(t testing.TB) *testLogger {
	l := &testLogger{t: t}
	t.Cleanup(func() {
		l.mu.Lock()
		l.done = true
		l.mu.Unlock()
	})
	return l
}

func (l *testLogger) Printf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	if !l.done {
		l.t.Logf("zk: %s", line)
	}
}

func (l *testLogger) find(substr string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, substr) {
			return line, true
		}
	}
	return "", false
}

// client is a go-zookeeper connection with its events.
type client struct {
	*zk.Conn
	events <-chan zk.Event
	log    *testLogger
}

// connect opens a session to servers (comma-separated) and waits until it
// has one. The connection is closed when the test ends.
func connect(t testing.TB, servers string, timeout time.Duration) *client {
	t.Helper()
	c := dial(t, servers, timeout)
	c.waitState(t, zk.StateHasSession, 30*time.Second)
	return c
}

// dial opens a connection without waiting for a session.
func dial(t testing.TB, servers string, timeout time.Duration) *client {
	t.Helper()
	log := newTestLogger(t)
	conn, events, err := zk.Connect(strings.Split(servers, ","), timeout, zk.WithLogger(log))
	if err != nil {
		t.Fatalf("zk.Connect(%s): %v", servers, err)
	}
	t.Cleanup(conn.Close)
	return &client{Conn: conn, events: events, log: log}
}

// waitState waits for a session event with the given state.
func (c *client) waitState(t testing.TB, want zk.State, timeout time.Duration) zk.Event {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev := <-c.events:
			if ev.Type == zk.EventSession && ev.State == want {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %v event within %v (state now %v)", want, timeout, c.State())
		}
	}
}

// eventually polls cond every 50ms until it returns nil, failing the test
// with its last error after timeout.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
