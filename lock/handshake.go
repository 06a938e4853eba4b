package lock

import (
	"encoding/binary"
	"net"
	"sync"
	"time"
)

// go-zookeeper keeps the negotiated session timeout private, yet the whole
// timing budget rests on it: a server whose maxSessionTimeout is below the
// requested timeout expires the session sooner than asked. So zkfence reads
// it off the wire: the first frame a server sends on every new connection is
// the connect response {protocolVersion int32, timeOut int32, sessionID int64,
// passwd []byte}.

// handshakeFunc receives the negotiated timeout and session ID of a connection.
type handshakeFunc func(timeout time.Duration, sessionID int64)

// handshakeTimeout bounds the wait for a server's connect response.
// go-zookeeper waits ten receive timeouts for it (200 s with a 30 s session),
// so a server that accepts connections before it serves (one still
// starting, or wedged) would hold zkfence that long; a healthy server
// answers in milliseconds. After this the connection is dropped and the next
// server is tried.
const handshakeTimeout = 5 * time.Second

// handshakeDialer returns a dialer for zk.WithDialer that reports every
// connect response to report.
func handshakeDialer(report handshakeFunc) func(network, address string, timeout time.Duration) (net.Conn, error) {
	return func(network, address string, timeout time.Duration) (net.Conn, error) {
		c, err := net.DialTimeout(network, address, timeout)
		if err != nil {
			return nil, err
		}
		return &handshakeConn{Conn: c, report: report, by: time.Now().Add(handshakeTimeout)}, nil
	}
}

// handshakeConn copies the bytes of the first frame it reads and decodes them
// once complete; every later read passes through untouched.
type handshakeConn struct {
	net.Conn
	report handshakeFunc

	mu   sync.Mutex
	buf  []byte
	done bool
	by   time.Time // the connect response must have come by then
}

// SetReadDeadline keeps go-zookeeper's deadline, but no later than the
// handshake's own until the connect response has been read.
func (c *handshakeConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	if !c.done && (t.IsZero() || t.After(c.by)) {
		t = c.by
	}
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

func (c *handshakeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.observe(p[:n])
	}
	return n, err
}

func (c *handshakeConn) observe(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return
	}
	c.buf = append(c.buf, b...)
	if len(c.buf) < 4 {
		return
	}
	size := int(binary.BigEndian.Uint32(c.buf[:4]))
	if len(c.buf) < 4+size {
		return
	}
	c.done = true
	frame := c.buf[4 : 4+size]
	c.buf = nil
	if size < 16 {
		return // malformed; go-zookeeper will reject it itself
	}
	timeoutMs := int32(binary.BigEndian.Uint32(frame[4:8]))
	sessionID := int64(binary.BigEndian.Uint64(frame[8:16]))
	if sessionID != 0 && timeoutMs > 0 {
		c.report(time.Duration(timeoutMs)*time.Millisecond, sessionID)
	}
}
