package lock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
)

// Reasons a session or lease ends. Callers tell them apart with errors.Is.
var (
	ErrSessionExpired  = errors.New("zookeeper session expired")
	ErrSessionReplaced = errors.New("zookeeper session replaced by a new one")
	ErrNodeGone        = errors.New("lock node is gone")
	ErrNotOwner        = errors.New("lock node is owned by another session")
	ErrLeaseDeadline   = errors.New("lease deadline reached without a successful renewal")
)

// SessionConfig says how to reach ZooKeeper.
type SessionConfig struct {
	Servers        []string
	Chroot         string        // prefixed to every path; "" for none
	SessionTimeout time.Duration // requested; the server may grant less
	Credentials    Credentials   // digest credentials; zero: none (open ACL)
	Logger         *slog.Logger
}

// Session is one ZooKeeper session. It is single-use: once the session is
// expired or replaced (go-zookeeper silently opens a new one after an expiry)
// Lost is closed and the Session must be closed and dialled again.
type Session struct {
	conn   zkConn
	chroot string
	creds  Credentials
	log    *slog.Logger

	mu          sync.Mutex
	id          int64         // the session this object stands for; 0 until established
	negotiated  time.Duration // the smallest timeout any server granted this session
	established chan struct{}
	shrunk      chan struct{} // a send (never blocking) each time negotiated shrinks
	lost        chan struct{}
	lostErr     error
	closing     atomic.Bool
	closeOnce   sync.Once
}

// Dial connects and waits until a session is established, logging while it
// waits; it gives up only when ctx ends. go-zookeeper retries the servers in
// turn, pausing a second after each round.
func Dial(ctx context.Context, cfg SessionConfig) (*Session, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Session{chroot: cfg.Chroot, creds: cfg.Credentials, log: log, established: make(chan struct{}),
		shrunk: make(chan struct{}, 1), lost: make(chan struct{})}
	conn, events, err := zk.Connect(cfg.Servers, cfg.SessionTimeout,
		zk.WithDialer(handshakeDialer(s.onHandshake)),
		zk.WithLogger(zkLogger{log}), zk.WithLogInfo(false))
	if err != nil {
		return nil, fmt.Errorf("connect to zookeeper %s: %w", strings.Join(cfg.Servers, ","), err)
	}
	s.conn = conn
	go s.watchEvents(events)

	start := time.Now()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-s.established:
			if err := s.authenticate(conn); err != nil {
				s.Close()
				return nil, err
			}
			log.Info("zookeeper session established", "session", fmt.Sprintf("0x%x", s.ID()),
				"server", conn.Server(), "negotiated_timeout", s.NegotiatedTimeout())
			return s, nil
		case <-ctx.Done():
			s.Close()
			return nil, fmt.Errorf("connect to zookeeper %s: %w", strings.Join(cfg.Servers, ","), ctx.Err())
		case <-tick.C:
			log.Warn("waiting for zookeeper", "servers", strings.Join(cfg.Servers, ","),
				"state", conn.State().String(), "waited", time.Since(start).Round(time.Second))
		}
	}
}

// authenticate adds the digest credentials; go-zookeeper sends them again
// after every reconnect. ZooKeeper's digest provider accepts any password
// here: a wrong one shows as NOAUTH on the lock path, which Acquire and
// CheckLockPath turn into ErrRefused (never retried). A server that refuses
// the credentials outright is refused here the same way.
func (s *Session) authenticate(conn *zk.Conn) error {
	if s.creds.User == "" {
		return nil
	}
	err := conn.AddAuth("digest", []byte(s.creds.User+":"+s.creds.Password))
	if errors.Is(err, zk.ErrAuthFailed) || errors.Is(err, zk.ErrNoAuth) { // the server said no: never retried
		return fmt.Errorf("%w: zookeeper authentication as user %s: %v", ErrRefused, s.creds.User, err)
	}
	if err != nil {
		return fmt.Errorf("zookeeper authentication as user %s: %w", s.creds.User, err)
	}
	return nil
}

// onHandshake sees every connect response. The first names our session; a
// different ID later means the old session is gone; a shorter timeout moves
// the lease's deadlines at once (through shrunk). It logs only after it has
// let go of the mutex, which the lease's deadline computations need.
func (s *Session) onHandshake(timeout time.Duration, id int64) {
	s.mu.Lock()
	lost := false
	switch {
	case s.id == 0:
		s.id, s.negotiated = id, timeout
		close(s.established)
	case id != s.id:
		lost = s.markLostLocked(ErrSessionReplaced)
	case timeout < s.negotiated:
		s.negotiated = timeout
		select {
		case s.shrunk <- struct{}{}:
		default: // one pending notice is enough: the lease reads the value
		}
	}
	s.mu.Unlock()
	if lost {
		s.logLost()
	}
}

func (s *Session) watchEvents(events <-chan zk.Event) {
	for ev := range events {
		if ev.Type != zk.EventSession {
			continue
		}
		switch ev.State {
		case zk.StateExpired:
			s.mu.Lock()
			lost := s.markLostLocked(ErrSessionExpired)
			s.mu.Unlock()
			if lost {
				s.logLost()
			}
		case zk.StateDisconnected:
			if s.closing.Load() {
				continue
			}
			s.log.Warn("disconnected from zookeeper", "server", ev.Server)
		case zk.StateHasSession:
			s.log.Debug("connected to zookeeper", "server", ev.Server)
		}
	}
}

// markLostLocked records why the session ended, once; it reports whether
// this call did.
func (s *Session) markLostLocked(err error) bool {
	if s.lostErr != nil {
		return false
	}
	s.lostErr = err
	close(s.lost)
	return true
}

func (s *Session) logLost() {
	s.log.Warn("zookeeper session lost", "session", fmt.Sprintf("0x%x", s.ID()), "cause", s.Err())
}

// ID returns the session ID.
func (s *Session) ID() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// NegotiatedTimeout returns the smallest session timeout any server granted.
func (s *Session) NegotiatedTimeout() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.negotiated
}

// Lost is closed when the session expired or was replaced.
func (s *Session) Lost() <-chan struct{} { return s.lost }

// Err says why Lost was closed, or nil.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lostErr
}

// Close ends the session; ZooKeeper deletes its ephemeral nodes at once.
func (s *Session) Close() {
	s.closing.Store(true)
	s.closeOnce.Do(s.conn.Close)
}

// abs maps a path in the chroot to a path on the server.
func (s *Session) abs(p string) string { return s.chroot + p }

// zkLogger sends go-zookeeper's own messages to debug level: zkfence logs the
// state changes that matter itself.
type zkLogger struct{ log *slog.Logger }

func (l zkLogger) Printf(format string, args ...any) {
	l.log.Debug("zk: " + fmt.Sprintf(format, args...))
}
