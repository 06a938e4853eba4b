package zkserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Proxy is a TCP proxy on a free 127.0.0.1 port that forwards every
// connection to a target, and that a test can cut or partition. It is safe
// for concurrent use; after Close returns none of its goroutines remain.
//
// Modes:
//   - forwarding (the start, and after Restore): bytes flow both ways.
//   - Cut: every connection is closed (the client sees EOF, a disconnection)
//     and new ones are reset as soon as they are accepted (the client sees
//     "connection reset", as if refused; the port stays the proxy's).
//   - Blackhole: a network partition. Connections stay open but nothing
//     crosses in either direction, not even a close; new connections are
//     accepted and then hear nothing. Neither side notices until its own
//     timeouts fire. What was sent during the partition is held, not lost,
//     and is delivered after Restore, as TCP's retransmission would deliver
//     it when a real partition heals: dropping bytes out of the middle of a
//     stream would instead corrupt ZooKeeper's framing.
type Proxy struct {
	ln     net.Listener
	target string
	// rewrite, optional, rewrites what the client sends first.
	rewrite headerRewrite
	// dialRetry is how long a refused connection to the target is retried
	// before the client's connection is reset (0: reset at once).
	dialRetry time.Duration

	mu     sync.Mutex
	mode   proxyMode
	gate   chan struct{} // closed iff mode == modeForward
	conns  map[*proxyConn]struct{}
	closed bool

	wg sync.WaitGroup // the accept loop and every connection's goroutines
}

// headerRewrite reads the start of what a client sends and returns what the
// target receives instead.
type headerRewrite func(client io.Reader) ([]byte, error)

type proxyMode int

const (
	modeForward proxyMode = iota
	modeBlackhole
	modeCut
)

func (m proxyMode) String() string {
	return [...]string{"forwarding", "blackhole", "cut"}[m]
}

// NewProxy starts a Proxy to target ("host:port") that is closed when the
// test ends. It fails the test if it cannot listen.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := ListenProxy(target)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// ListenProxy is NewProxy without a testing.TB (for TestMain); the caller
// must Close it.
func ListenProxy(target string) (*Proxy, error) {
	return listenProxy(target, nil, 0)
}

func listenProxy(target string, rewrite headerRewrite, dialRetry time.Duration) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("zkserver: proxy to %s: %w", target, err)
	}
	gate := make(chan struct{})
	close(gate)
	p := &Proxy{
		ln:        ln,
		target:    target,
		rewrite:   rewrite,
		dialRetry: dialRetry,
		gate:      gate,
		conns:     make(map[*proxyConn]struct{}),
	}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr is the proxy's listening address, "127.0.0.1:port".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Port is the proxy's listening port.
func (p *Proxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// Target is the address the proxy forwards to.
func (p *Proxy) Target() string { return p.target }

// Mode is "forwarding", "blackhole" or "cut".
func (p *Proxy) Mode() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode.String()
}

// Conns is the number of client connections the proxy holds now.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Cut closes every connection and resets new ones until Restore. When Cut
// returns, every existing connection has been closed on both sides.
func (p *Proxy) Cut() {
	p.mu.Lock()
	if p.mode == modeForward {
		p.gate = make(chan struct{})
	}
	p.mode = modeCut
	conns := p.snapshotLocked()
	p.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// Blackhole starts a partition: from now on nothing crosses the proxy, in
// either direction, on existing or new connections, until Restore.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == modeForward {
		p.gate = make(chan struct{})
	}
	p.mode = modeBlackhole
}

// Restore forwards again: new connections work, and connections held by a
// Blackhole resume, delivering what was held.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode != modeForward {
		close(p.gate)
	}
	p.mode = modeForward
}

// Close stops listening, closes every connection and waits until all the
// proxy's goroutines have returned. It is idempotent.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.wg.Wait()
		return nil
	}
	p.closed = true
	conns := p.snapshotLocked()
	p.mu.Unlock()
	err := p.ln.Close()
	for _, c := range conns {
		c.close()
	}
	p.wg.Wait()
	if err != nil {
		return fmt.Errorf("zkserver: closing proxy %s: %w", p.Addr(), err)
	}
	return nil
}

func (p *Proxy) snapshotLocked() []*proxyConn {
	conns := make([]*proxyConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	return conns
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		nc, err := p.ln.Accept()
		if err != nil {
			p.mu.Lock()
			closed := p.closed
			p.mu.Unlock()
			if closed || errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // e.g. EMFILE: back off, retry
			continue
		}
		p.mu.Lock()
		if p.closed || p.mode == modeCut {
			p.mu.Unlock()
			resetClose(nc)
			continue
		}
		c := newProxyConn(nc)
		p.conns[c] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serve(c)
	}
}

// waitOpen blocks while the proxy is blackholed. It returns false when c
// is closed meanwhile.
func (p *Proxy) waitOpen(c *proxyConn) bool {
	p.mu.Lock()
	gate := p.gate
	p.mu.Unlock()
	select {
	case <-gate:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// serve runs one client connection: it connects to the target only once
// the proxy forwards (a partition lets no SYN through), then pumps both
// ways until both directions end or the connection is closed. When the
// target refuses, the client's connection is reset, the nearest a proxy
// that has already accepted can come to a refusal.
func (p *Proxy) serve(c *proxyConn) {
	defer p.wg.Done()
	defer func() {
		c.close()
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}()
	if !p.waitOpen(c) {
		return
	}
	srv, err := p.dial(c)
	if err != nil {
		c.reset()
		return
	}
	if !c.setServer(srv) {
		return
	}
	if p.rewrite != nil {
		hdr, err := p.rewrite(c.client)
		if err != nil || !p.waitOpen(c) {
			return
		}
		if _, err := srv.Write(hdr); err != nil {
			return
		}
	}
	done := make(chan struct{})
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(done)
		p.pump(c, c.client, srv)
	}()
	p.pump(c, srv, c.client)
	<-done
}

// dial connects to the target, retrying a refusal for up to p.dialRetry.
func (p *Proxy) dial(c *proxyConn) (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	deadline := time.Now().Add(p.dialRetry)
	for {
		srv, err := d.DialContext(c.ctx, "tcp", p.target)
		if err == nil || !errors.Is(err, syscall.ECONNREFUSED) || time.Now().After(deadline) {
			return srv, err
		}
		select {
		case <-c.ctx.Done():
			return nil, c.ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// pump copies src to dst, holding every chunk (and the final close) while
// the proxy is blackholed. EOF is passed on as a half-close; any other error
// closes the whole connection.
func (p *Proxy) pump(c *proxyConn, dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.waitOpen(c) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				c.close()
				return
			}
		}
		if err != nil {
			if !p.waitOpen(c) {
				return
			}
			if errors.Is(err, io.EOF) {
				if cw, ok := dst.(interface{ CloseWrite() error }); ok {
					_ = cw.CloseWrite()
					return
				}
			}
			c.close()
			return
		}
	}
}

// proxyConn is one proxied connection.
type proxyConn struct {
	client net.Conn
	ctx    context.Context // done once the connection is closed
	cancel context.CancelFunc

	mu     sync.Mutex
	server net.Conn
	closed bool
}

func newProxyConn(client net.Conn) *proxyConn {
	ctx, cancel := context.WithCancel(context.Background())
	return &proxyConn{client: client, ctx: ctx, cancel: cancel}
}

// setServer records the target-side connection; false (and srv closed) if
// the connection was closed meanwhile.
func (c *proxyConn) setServer(srv net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		srv.Close()
		return false
	}
	c.server = srv
	return true
}

// close closes both sides; it is idempotent and never blocks.
func (c *proxyConn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	c.cancel()
	c.client.Close()
	if c.server != nil {
		c.server.Close()
	}
}

// reset closes the connection, the client's side with an RST.
func (c *proxyConn) reset() {
	if tc, ok := c.client.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.close()
}

// resetClose closes nc with an RST rather than a FIN.
func resetClose(nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	nc.Close()
}
