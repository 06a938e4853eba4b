package lock

import (
	"context"
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/go-zookeeper/zk"
)

// Waiting describes the caller's place in line while it waits for the lock.
type Waiting struct {
	Ahead       int    // contenders ahead of us
	Predecessor string // the one node we watch
}

// AcquireOptions says what to lock and how to report progress.
type AcquireOptions struct {
	Path    string        // lock path, relative to the chroot
	Data    []byte        // stored in our node: who holds it (see Holder)
	ACL     []zk.ACL      // nil: the session's (see Credentials.ACL)
	OnWait  func(Waiting) // called each time our predecessor changes; may be nil
	retries time.Duration // pause between retries of a failed request; 0: 200ms
}

// Held is a lock this session holds.
type Held struct {
	Node  string // full path of our lock node on the server
	Token int64  // the node's czxid: grows with every acquisition, ensemble-wide
	// Confirmed is a time taken before the requests that showed we hold the
	// lock were sent: the lease counts from it.
	Confirmed time.Time
}

// Acquire queues on the lock and returns once this session holds it.
//
// The recipe (DESIGN.md, Curator's InterProcessMutex): create a protected
// ephemeral-sequential node; the lowest sequence holds the lock; a waiter
// watches only its predecessor, so one release wakes one waiter. Whatever goes
// wrong after the create, including ctx ending, our node is deleted before
// Acquire returns.
//
// A session queues at most once on a lock path: a node of its own session
// ahead of ours is an orphan of a lost create and is deleted, never waited on.
func (s *Session) Acquire(ctx context.Context, opt AcquireOptions) (held Held, err error) {
	if opt.retries == 0 {
		opt.retries = 200 * time.Millisecond
	}
	if opt.ACL == nil {
		opt.ACL = s.creds.ACL()
	}
	dir := s.abs(opt.Path)
	if err := s.ensurePath(ctx, dir, opt); err != nil {
		return Held{}, err
	}
	if err := s.CheckLockPath(opt.Path); errors.Is(err, ErrRefused) {
		return Held{}, err
	}
	name, err := s.createProtected(ctx, dir, opt)
	if err != nil {
		return Held{}, err
	}
	node := dir + "/" + name
	defer func() {
		if err != nil {
			s.deleteNode(node)
		}
	}()
	for {
		if err := s.alive(ctx); err != nil {
			return Held{}, err
		}
		sent := time.Now()
		token, waiting, watch, err := s.tryHold(dir, name)
		if retryable(err) {
			if err := s.sleep(ctx, opt.retries); err != nil {
				return Held{}, err
			}
			continue
		}
		if errors.Is(err, zk.ErrNoAuth) {
			return Held{}, s.noAuth(dir, err)
		}
		if err != nil {
			return Held{}, fmt.Errorf("lock %s: %w", opt.Path, err)
		}
		if watch == nil {
			return Held{Node: node, Token: token, Confirmed: sent}, nil
		}
		if opt.OnWait != nil && waiting.Predecessor != "" {
			opt.OnWait(waiting)
		}
		select {
		case <-watch:
		case <-ctx.Done():
			return Held{}, ctx.Err()
		case <-s.lost:
			return Held{}, s.Err()
		}
	}
}

// tryHold looks at the contenders once. It returns our token when we hold the
// lock, or a watch on our predecessor to wait on.
func (s *Session) tryHold(dir, name string) (int64, Waiting, <-chan zk.Event, error) {
	children, _, err := s.conn.Children(dir)
	if err != nil {
		return 0, Waiting{}, nil, err
	}
	sorted := sortedContenders(children)
	i := position(sorted, name)
	switch {
	case i < 0:
		return 0, Waiting{}, nil, ErrNodeGone
	case i == 0:
		ok, stat, err := s.conn.Exists(dir + "/" + name)
		if err != nil {
			return 0, Waiting{}, nil, err
		}
		if !ok {
			return 0, Waiting{}, nil, ErrNodeGone
		}
		if stat.EphemeralOwner != s.ID() {
			return 0, Waiting{}, nil, ErrNotOwner
		}
		return stat.Czxid, Waiting{}, nil, nil
	}
	// GetW, as Curator does: on a missing node it fails without leaving a
	// watch behind, so a waiter never collects stale watches.
	pred := sorted[i-1].Name
	_, stat, watch, err := s.conn.GetW(dir + "/" + pred)
	if errors.Is(err, zk.ErrNoNode) {
		return 0, Waiting{}, closedEvents, nil // gone meanwhile: look again
	}
	if err != nil {
		return 0, Waiting{}, nil, err
	}
	if stat.EphemeralOwner == s.ID() {
		if err := s.deleteOrphan(dir+"/"+pred, stat.Version); err != nil {
			return 0, Waiting{}, nil, err
		}
		return 0, Waiting{}, closedEvents, nil // look again
	}
	return 0, Waiting{Ahead: i, Predecessor: pred}, watch, nil
}

// deleteOrphan deletes a contender node of our own session that is ahead of
// ours. A session queues once per lock, so such a node is an orphan: a create
// whose answer was lost and that was retried on a server that had not seen it
// yet. Waiting on it would wait forever, and every contender behind us with
// us. The version makes sure it is the node we looked at; a node already
// gone or changed is simply looked at again.
func (s *Session) deleteOrphan(node string, version int32) error {
	err := s.conn.Delete(node, version)
	if errors.Is(err, zk.ErrNoNode) || errors.Is(err, zk.ErrBadVersion) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete orphan lock node %s of our own session: %w", node, err)
	}
	s.log.Warn("deleted an orphan lock node of our own session that was ahead of ours (a create whose answer was lost)",
		"node", node)
	return nil
}

// closedEvents is a watch that has already fired.
var closedEvents = func() <-chan zk.Event {
	c := make(chan zk.Event)
	close(c)
	return c
}()

// createProtected creates our node. When the create fails because the
// connection dropped, the node may exist anyway: it is found again by its
// uuid before a new create is tried.
func (s *Session) createProtected(ctx context.Context, dir string, opt AcquireOptions) (string, error) {
	prefix, id := newNodePrefix()
	for {
		if err := s.alive(ctx); err != nil {
			return "", err
		}
		created, err := s.conn.Create(dir+"/"+prefix, opt.Data, zk.FlagEphemeral|zk.FlagSequence, opt.ACL)
		if err == nil {
			return path.Base(created), nil
		}
		if errors.Is(err, zk.ErrNoAuth) {
			return "", s.noAuth(dir, err)
		}
		if !retryable(err) {
			return "", fmt.Errorf("create lock node under %s: %w", opt.Path, err)
		}
		s.log.Warn("lock node create interrupted; looking for it", "lock", opt.Path, "err", err)
		if name, found, err := s.findProtected(ctx, dir, id, opt.retries); err != nil || found {
			return name, err
		}
	}
}

// findProtected lists dir until it succeeds and reports whether a node with
// the protection id exists.
func (s *Session) findProtected(ctx context.Context, dir, id string, pause time.Duration) (string, bool, error) {
	for {
		children, _, err := s.conn.Children(dir)
		if err == nil {
			name, found := findByID(children, id)
			return name, found, nil
		}
		if !retryable(err) {
			return "", false, err
		}
		if err := s.sleep(ctx, pause); err != nil {
			return "", false, err
		}
	}
}

// ensurePath creates the lock path and its parents as persistent nodes.
func (s *Session) ensurePath(ctx context.Context, dir string, opt AcquireOptions) error {
	for p, i := "", 1; i <= len(dir); i++ {
		if i < len(dir) && dir[i] != '/' {
			continue
		}
		p = dir[:i]
		for {
			_, err := s.conn.Create(p, nil, 0, opt.ACL)
			if err == nil || errors.Is(err, zk.ErrNodeExists) {
				break
			}
			if errors.Is(err, zk.ErrNoAuth) { // no right to create what may exist already
				if ok, _, e := s.conn.Exists(p); e == nil && ok {
					break
				}
				return s.noAuth(p, err)
			}
			if !retryable(err) {
				return fmt.Errorf("create %s: %w", p, err)
			}
			if err := s.sleep(ctx, opt.retries); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteNode deletes node, retrying briefly across a reconnect. If it cannot,
// the node still goes with the session when the caller closes it.
func (s *Session) deleteNode(node string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		err := s.conn.Delete(node, -1)
		if err == nil || errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		if !retryable(err) {
			return fmt.Errorf("delete %s: %w", node, err)
		}
		if err := s.sleep(ctx, 100*time.Millisecond); err != nil {
			return fmt.Errorf("delete %s: %w", node, err)
		}
	}
}

// alive returns why waiting must stop, or nil.
func (s *Session) alive(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.Err()
}

func (s *Session) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return s.Err()
	case <-ctx.Done():
		return ctx.Err()
	case <-s.lost:
		return s.Err()
	}
}

// retryable reports errors of the connection, not of the request.
func retryable(err error) bool {
	return errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrNoServer)
}
