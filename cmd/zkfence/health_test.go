package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zkfence/zkfence/health"
	"github.com/zkfence/zkfence/internal/zkserver"
)

func httpAddr(t *testing.T) string {
	t.Helper()
	port, err := zkserver.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}

func fetch(addr, path string) (int, string) {
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// waitHTTP polls until path answers code with a body containing want.
func waitHTTP(t *testing.T, addr, path string, code int, want string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var got int
	var body string
	for time.Now().Before(deadline) {
		if got, body = fetch(addr, path); got == code && strings.Contains(body, want) {
			return body
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s%s: %d %q, want %d with %q", addr, path, got, body, code, want)
	return ""
}

func TestHealthEndpointsThroughTheStates(t *testing.T) {
	needBinaryAndZK(t)
	p := lockPath(t)
	proxy := zkserver.NewProxy(t, server.Addr())
	aHTTP, bHTTP := httpAddr(t), httpAddr(t)
	// The holder's child ignores the stop signal, so the stopping state
	// lasts the whole grace and can be seen.
	a := startWrapper(t, nil, runArgs(proxy.Addr(), p, "--http", aHTTP, "--", "sh", "-c", `trap '' TERM; while :; do sleep 0.05; done`)...)
	waitHTTP(t, aHTTP, "/healthz", 200, "ok: running")
	b := startWrapper(t, nil, runArgs(server.Addr(), p, "--http", bHTTP, "--", "sleep", "3600")...)
	waitHTTP(t, bHTTP, "/healthz", 503, "waiting, 1 ahead")
	var snap health.Snapshot
	if err := json.Unmarshal([]byte(waitHTTP(t, bHTTP, "/readyz", 503, `"state":"waiting"`)), &snap); err != nil || snap.Ahead != 1 {
		t.Fatalf("standby readyz: %+v %v", snap, err)
	}
	var held health.Snapshot
	if err := json.Unmarshal([]byte(waitHTTP(t, aHTTP, "/readyz", 200, `"state":"running"`)), &held); err != nil ||
		held.Token == 0 || held.ChildPID == 0 || held.LeaseRemaining == nil {
		t.Fatalf("holder readyz: %+v %v", held, err)
	}
	metrics := waitHTTP(t, aHTTP, "/metrics", 200, "zkfence_lock_held 1")
	if !strings.Contains(metrics, "zkfence_heartbeat_rtt_seconds_count") {
		t.Fatalf("holder metrics lack heartbeat round trips:\n%s", metrics)
	}

	proxy.Blackhole()
	waitHTTP(t, aHTTP, "/healthz", 503, "stopping (lock lost")
	a.wait(30 * time.Second)
	var taken health.Snapshot
	if err := json.Unmarshal([]byte(waitHTTP(t, bHTTP, "/readyz", 200, `"state":"running"`)), &taken); err != nil || taken.Token <= held.Token {
		t.Fatalf("new holder readyz: %+v %v (old token %d)", taken, err, held.Token)
	}
	b.signal(syscall.SIGTERM)
	b.wait(15 * time.Second)
}

func TestMountProbesReachTheMetrics(t *testing.T) {
	needBinaryAndZK(t)
	p, vol := lockPath(t), tmpfsVolume(t)
	addr := httpAddr(t)
	w := startWrapper(t, nil, runArgs(server.Addr(), p, "--http", addr, "--mount", vol, "--claim-volume",
		"--probe-interval", "100ms", "--", "sleep", "3600")...)
	waitHTTP(t, addr, "/readyz", 200, `"mounts_ok":true`)
	metrics := waitHTTP(t, addr, "/metrics", 200, "zkfence_mount_probe_seconds_count")
	if strings.Contains(metrics, "zkfence_mount_probe_seconds_count 0\n") {
		t.Fatalf("no mount probe observed:\n%s", metrics)
	}
	w.signal(syscall.SIGTERM)
	w.wait(15 * time.Second)
}
