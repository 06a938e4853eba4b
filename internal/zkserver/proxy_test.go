package zkserver

import (
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// echoServer echoes every connection until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				io.Copy(c, c)
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func dialT(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func send(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatalf("write %q: %v", s, err)
	}
}

// expect reads exactly want within a generous deadline.
func expect(t *testing.T, c net.Conn, want string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, len(want))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != want {
		t.Fatalf("read %q, %v; want %q", buf, err, want)
	}
}

// expectSilence checks that nothing arrives for a while (the only way to
// see that bytes are held; it cannot pass by luck if bytes do arrive).
func expectSilence(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	var b [1]byte
	n, err := c.Read(b[:])
	var ne net.Error
	if n != 0 || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read %d bytes, %v during a blackhole; want a timeout", n, err)
	}
}

// expectClosed checks that the proxy ends the connection (EOF or reset).
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b [1]byte
	n, err := c.Read(b[:])
	var ne net.Error
	if n != 0 || err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("read %d bytes, %v; want EOF or reset", n, err)
	}
}

func TestProxyModes(t *testing.T) {
	t.Parallel()
	p := NewProxy(t, echoServer(t))
	c1 := dialT(t, p.Addr())
	send(t, c1, "a")
	expect(t, c1, "a")

	// Blackhole: existing and new connections hear nothing...
	p.Blackhole()
	send(t, c1, "b")
	expectSilence(t, c1)
	c2 := dialT(t, p.Addr()) // accepted...
	send(t, c2, "c")
	expectSilence(t, c2) // ...but silent
	if p.Mode() != "blackhole" {
		t.Fatalf("Mode = %s", p.Mode())
	}
	// ...and what was held arrives after Restore.
	p.Restore()
	expect(t, c1, "b")
	expect(t, c2, "c")
	send(t, c1, "d")
	expect(t, c1, "d")

	// Cut: existing connections are closed, new ones reset.
	p.Cut()
	expectClosed(t, c1)
	expectClosed(t, c2)
	if c3, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second); err == nil {
		expectClosed(t, c3)
		c3.Close()
	}
	p.Restore()
	c4 := dialT(t, p.Addr())
	send(t, c4, "e")
	expect(t, c4, "e")

	// Close: connections end, the port stops listening.
	must(t, p.Close())
	expectClosed(t, c4)
	if c, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatal("a closed proxy accepted a connection")
	}
	must(t, p.Close()) // idempotent
}

// proxyGoroutines counts goroutines running Proxy code.
func proxyGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "zkserver.(*Proxy)") || strings.Contains(g, "zkserver.(*proxyConn)") {
			count++
		}
	}
	return count
}

// Not parallel: it counts every Proxy goroutine in the binary.
func TestProxyNoGoroutineLeak(t *testing.T) {
	if n := proxyGoroutines(); n != 0 {
		t.Fatalf("%d proxy goroutines before the test", n)
	}
	target := echoServer(t)
	for _, mode := range []string{"forwarding", "blackhole", "cut", "blackhole-then-cut"} {
		p, err := ListenProxy(target)
		must(t, err)
		live := dialT(t, p.Addr())
		send(t, live, "x")
		expect(t, live, "x")
		halfClosed := dialT(t, p.Addr())
		halfClosed.(*net.TCPConn).CloseWrite()
		switch mode {
		case "blackhole":
			p.Blackhole()
			send(t, live, "held")
			dialT(t, p.Addr()) // waiting for the partition to end
		case "cut":
			p.Cut()
		case "blackhole-then-cut":
			p.Blackhole()
			dialT(t, p.Addr())
			p.Cut()
		}
		if n := proxyGoroutines(); n == 0 {
			t.Fatalf("%s: the goroutine count sees no proxy goroutine", mode)
		}
		must(t, p.Close())
		// A goroutine that called wg.Done may still be on its way out
		// when Close returns (a loaded machine stretches that): allow
		// it a moment, never a goroutine that stays.
		n := proxyGoroutines()
		for deadline := time.Now().Add(5 * time.Second); n != 0 && time.Now().Before(deadline); n = proxyGoroutines() {
			time.Sleep(10 * time.Millisecond)
		}
		if n != 0 {
			t.Fatalf("%s: %d proxy goroutines left 5 s after Close", mode, n)
		}
	}
}

// Cut: the client sees a disconnection; after Restore it reconnects to
// the same session.
func TestProxyCutDisconnectsClient(t *testing.T) {
	t.Parallel()
	p := NewProxy(t, shared.Addr())
	c := connect(t, p.Addr(), 4*time.Second)
	id := c.SessionID()
	if _, err := c.Create("/cut", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	p.Cut()
	c.waitState(t, zk.StateDisconnected, 10*time.Second)
	if _, err := FourLetter(p.Addr(), "ruok", time.Second); err == nil {
		t.Fatal("four-letter word through a cut proxy succeeded")
	}
	p.Restore()
	c.waitState(t, zk.StateHasSession, 20*time.Second)
	if c.SessionID() != id {
		t.Fatalf("session changed across a short cut: 0x%x -> 0x%x", id, c.SessionID())
	}
	if _, _, err := c.Get("/cut"); err != nil {
		t.Fatal(err)
	}
}

// Blackhole: the server expires the session after its timeout (its
// ephemeral node goes); after Restore the client gets a new session.
func TestProxyBlackholeExpiresSession(t *testing.T) {
	t.Parallel()
	p := NewProxy(t, shared.Addr())
	c := connect(t, p.Addr(), 2*time.Second)
	id := c.SessionID()
	if _, err := c.Create("/blackhole", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	observer := connect(t, shared.Addr(), 4*time.Second)
	ok, _, watch, err := observer.ExistsW("/blackhole")
	if err != nil || !ok {
		t.Fatalf("ExistsW: %v, %v", ok, err)
	}

	cut := time.Now()
	p.Blackhole()
	c.waitState(t, zk.StateDisconnected, 15*time.Second)
	select {
	case ev := <-watch:
		if ev.Type != zk.EventNodeDeleted {
			t.Fatalf("watch event %v, want node deleted", ev)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not expire the partitioned session within 30s")
	}
	t.Logf("server expired the 2s session %v after the partition began", time.Since(cut).Round(time.Millisecond))
	// The server closes the expired session's connection just after it
	// deletes the session's ephemeral nodes.
	eventually(t, 10*time.Second, "expired session leaves cons", func() error {
		if _, err := shared.SessionTimeout(id); err == nil {
			return errors.New("still listed")
		}
		return nil
	})

	p.Restore()
	c.waitState(t, zk.StateExpired, 30*time.Second)
	c.waitState(t, zk.StateHasSession, 30*time.Second)
	if c.SessionID() == id || c.SessionID() == 0 {
		t.Fatalf("session after expiry = 0x%x (old 0x%x)", c.SessionID(), id)
	}
	if _, _, err := c.Exists("/blackhole"); err != nil {
		t.Fatal(err)
	}
}
