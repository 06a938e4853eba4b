package health

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestEndpointsFollowTheStates(t *testing.T) {
	s := NewState("/zkfence/db")
	srv, err := Listen("127.0.0.1:0", s)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	base := "http://" + srv.Addr()
	readyz := func() (int, Snapshot) {
		code, body := get(t, base+"/readyz")
		var snap Snapshot
		if err := json.Unmarshal([]byte(body), &snap); err != nil {
			t.Fatalf("readyz body %q: %v", body, err)
		}
		return code, snap
	}

	s.Waiting(2, "_c_x-lock-0000000003")
	if code, body := get(t, base+"/healthz"); code != 503 || !strings.Contains(body, "waiting, 2 ahead") {
		t.Fatalf("waiting: healthz %d %q", code, body)
	}
	if code, snap := readyz(); code != 503 || snap.State != Waiting || snap.Ahead != 2 {
		t.Fatalf("waiting: readyz %d %+v", code, snap)
	}

	deadline := time.Now().Add(10 * time.Second)
	s.Acquired(42, "node-a", func() time.Time { return deadline })
	if code, _ := get(t, base+"/healthz"); code != 503 {
		t.Fatalf("preparing: healthz %d, want 503 (no child yet)", code)
	}
	s.ChildStarted(1234)
	s.Mounts(true, nil, time.Millisecond)
	s.Renewal(3*time.Millisecond, nil)
	if code, body := get(t, base+"/healthz"); code != 200 || !strings.Contains(body, "token 42") {
		t.Fatalf("running: healthz %d %q", code, body)
	}
	code, snap := readyz()
	if code != 200 || snap.State != Running || snap.Token != 42 || snap.ChildPID != 1234 ||
		snap.LeaseRemaining == nil || *snap.LeaseRemaining < 5 || snap.MountsOK == nil || !*snap.MountsOK {
		t.Fatalf("running: readyz %d %+v", code, snap)
	}

	s.Mounts(false, errors.New("transport endpoint is not connected"), time.Second)
	if code, _ := get(t, base+"/healthz"); code != 503 {
		t.Fatalf("mount lost: healthz %d, want 503", code)
	}
	s.Stopping("mount", errors.New("mount lost: /data"))
	if code, body := get(t, base+"/healthz"); code != 503 || !strings.Contains(body, "stopping (mount lost: /data)") {
		t.Fatalf("stopping: healthz %d %q", code, body)
	}
	s.Stopped()

	_, metrics := get(t, base+"/metrics")
	for _, want := range []string{
		"zkfence_lock_held 0", "zkfence_fencing_token 42", "zkfence_lock_acquisitions_total 1",
		`zkfence_child_stops_total{cause="mount"} 1`, "zkfence_heartbeat_rtt_seconds_count 1",
		"zkfence_mount_probe_failures_total 1", "zkfence_child_starts_total 1", "process_resident_memory_bytes",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestNilStateIgnoresCalls(t *testing.T) {
	var s *State
	s.Waiting(1, "x")
	s.Acquired(1, "h", nil)
	s.ChildStarted(1)
	s.Stopping("lock", nil)
	s.Stopped()
}

func TestListenRefusesABadAddress(t *testing.T) {
	if _, err := Listen("256.0.0.1:http", NewState("/x")); err == nil {
		t.Fatal("a bad address was accepted")
	}
}

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// TestIdleConnectionsAreCappedAndTimedOut: idle connections were kept
// forever and, with a lowered file limit, exhausted the descriptors the
// fence needs (issue 16, item 5). The server holds at most MaxConnections,
// drops a client that sends nothing after ReadHeaderTimeout, and serves
// again once they are gone.
func TestIdleConnectionsAreCappedAndTimedOut(t *testing.T) {
	srv, err := Listen("127.0.0.1:0", NewState("/zkfence/db"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	before := openFDs(t)
	const clients = 4 * MaxConnections
	var conns []net.Conn
	for i := 0; i < clients; i++ {
		c, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	time.Sleep(500 * time.Millisecond) // time for the server to accept all it will
	// Each client connection is one descriptor of this process; the server
	// adds one per connection it accepted.
	if held := openFDs(t) - before - clients; held > MaxConnections+4 {
		t.Fatalf("the server holds %d connections, more than %d", held, MaxConnections)
	}
	// The first connections, accepted and silent, are dropped.
	conns[0].SetReadDeadline(time.Now().Add(ReadHeaderTimeout + 3*time.Second))
	start := time.Now()
	if _, err := conns[0].Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("a silent connection was not closed by the server: %v", err)
	}
	if took := time.Since(start); took > ReadHeaderTimeout+time.Second {
		t.Fatalf("silent connection closed after %v", took)
	}
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	client := &http.Client{Timeout: ReadHeaderTimeout + 5*time.Second}
	resp, err := client.Get("http://" + srv.Addr() + "/healthz")
	if err != nil {
		t.Fatalf("healthz once the idle clients are gone: %v", err)
	}
	resp.Body.Close()
}

func TestServerTimeoutsAreSet(t *testing.T) {
	srv, err := Listen("127.0.0.1:0", NewState("/zkfence/db"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	h := srv.http
	if h.ReadHeaderTimeout <= 0 || h.ReadTimeout <= 0 || h.WriteTimeout <= 0 || h.IdleTimeout <= 0 {
		t.Fatalf("timeouts: header %v, read %v, write %v, idle %v", h.ReadHeaderTimeout, h.ReadTimeout, h.WriteTimeout, h.IdleTimeout)
	}
}
