package lock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-zookeeper/zk"
)

// The fence state is the ZooKeeper side of the fence record: a persistent
// node beside the lock (FenceStatePath) that says who held the lock last and
// whether it let go cleanly. A new holder reads it before it touches any
// storage, which a record on a block device cannot offer (the device must be
// checked and mounted before its record can be read).
//
// Invariants:
//
//   - Tokens never go back: a state is written only over a state whose token
//     is smaller (a new holder) or equal (the same holder marking its release).
//   - Every write names the version it read (ZooKeeper's conditional set), so
//     a stale holder that thaws can never overwrite a newer holder's state.
//   - A holder's write is applied only while its own lock node exists (one
//     multi: a check of the node and the conditional set), so a holder whose
//     node a fast-takeover waiter deleted cannot record itself afterwards and
//     go on to touch storage.
//   - Released is set only by a holder whose child tree was confirmed dead and
//     whose storage was let go; anything else leaves the state "not released"
//     and the next holder treats the previous one as possibly still writing.

// ErrFenceStateChanged is returned when another holder wrote the fence state
// since it was read: we are not the newest holder any more.
var ErrFenceStateChanged = errors.New("fence state written by another holder")

// ErrLockNodeGone is returned when the writer's lock node no longer exists:
// the fence state was not written, and the lock is not ours.
var ErrLockNodeGone = errors.New("our lock node is gone: the fence state was not written")

// ErrFenceStateCorrupt is returned for a fence state node that is not ours to
// read: too large, not JSON, or without a service or token.
var ErrFenceStateCorrupt = errors.New("fence state corrupt")

// fenceStateMax bounds the data of a fence state node: ours is under 512 bytes.
const fenceStateMax = 4096

// FenceStatePath is the fence state of the lock at lockPath: the sibling node
// "<lockPath>.fence". It is a sibling, not a child, because Curator sorts
// every child of a lock path as a contender.
func FenceStatePath(lockPath string) string { return lockPath + ".fence" }

// FenceState is the content of the fence state node.
type FenceState struct {
	Service  string    `json:"service"` // the lock path
	Token    int64     `json:"token"`   // the holder's fencing token (lock node czxid)
	Holder   string    `json:"holder"`  // as in ZKFENCE_HOLDER
	FenceID  string    `json:"fence_id,omitempty"`
	Released bool      `json:"released"` // child confirmed dead and storage let go
	Updated  time.Time `json:"updated"`
	// Takeover says how this holder took over from the previous one:
	// "first", "released", "fenced <id>", "waited lock-delay",
	// "FENCING FAILED, waited lock-delay".
	Takeover string `json:"takeover,omitempty"`
	// FencedBy is set by the first waiter that fenced this holder (its
	// fence agent confirmed the node off) before deleting its lock node:
	// the next holder need neither fence it again nor wait it out.
	FencedBy string `json:"fenced_by,omitempty"`
}

// VersionedFenceState is a fence state with the node version it was read at;
// Version is -1 when there is no node yet.
type VersionedFenceState struct {
	FenceState
	Version int32
}

// Found reports whether a fence state node exists.
func (v VersionedFenceState) Found() bool { return v.Version >= 0 }

// ReadFenceState reads the fence state of lockPath.
func (s *Session) ReadFenceState(lockPath string) (VersionedFenceState, error) {
	data, stat, err := s.conn.Get(s.abs(FenceStatePath(lockPath)))
	if errors.Is(err, zk.ErrNoNode) {
		return VersionedFenceState{Version: -1}, nil
	}
	if err != nil {
		return VersionedFenceState{}, fmt.Errorf("read fence state of %s: %w", lockPath, err)
	}
	st, err := decodeFenceState(data)
	if err != nil {
		return VersionedFenceState{}, fmt.Errorf("%s: %w", FenceStatePath(lockPath), err)
	}
	return VersionedFenceState{FenceState: st, Version: stat.Version}, nil
}

func decodeFenceState(data []byte) (FenceState, error) {
	var st FenceState
	if len(data) > fenceStateMax {
		return st, fmt.Errorf("%w: %d bytes", ErrFenceStateCorrupt, len(data))
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return st, fmt.Errorf("%w: %v", ErrFenceStateCorrupt, err)
	}
	if st.Service == "" || st.Token <= 0 {
		return st, fmt.Errorf("%w: no service or token", ErrFenceStateCorrupt)
	}
	return st, nil
}

// WriteFenceState writes st over prev (as read by ReadFenceState, or as
// returned by an earlier write) and returns the new versioned state. It
// refuses a token smaller than prev's, and fails with ErrFenceStateChanged
// when the node changed since prev was read. When lockNode is not "" (a
// holder writing about itself: Lease.Node, the node's full path on the
// server), the write is applied only while that node exists, and fails with
// ErrLockNodeGone otherwise. A write whose answer was lost with the
// connection is looked up again: found as written (FencedBy included: a
// waiter's record of a fence is not the holder's own state) and, for a
// holder, its lock node still there in the same multi that finds the state
// unchanged since, it succeeded; found unchanged, it is tried again, until
// ctx ends.
func (s *Session) WriteFenceState(ctx context.Context, lockPath, lockNode string, prev VersionedFenceState, st FenceState) (VersionedFenceState, error) {
	next, err := s.writeFenceState(lockPath, lockNode, prev, st)
	for retryable(err) {
		if err := s.sleep(ctx, 200*time.Millisecond); err != nil {
			return prev, fmt.Errorf("write fence state of %s: %w", lockPath, err)
		}
		now, rerr := s.ReadFenceState(lockPath)
		switch {
		case rerr != nil && !retryable(rerr):
			return prev, rerr // not ours to read any more: not our write
		case rerr != nil:
			continue // still cut off: look again after the pause
		case now.Found() && now.Token == st.Token && now.Holder == st.Holder && now.Released == st.Released &&
			now.FencedBy == st.FencedBy:
			// The lost write was applied, or one just like it. A holder's
			// write was applied while its node existed, but the node may
			// have gone since (a first waiter that read this state fenced
			// the holder and deleted it): succeed only while it is there,
			// as the multi would have.
			if err = s.stillOurs(lockPath, lockNode, now); err == nil {
				return now, nil
			}
			if !retryable(err) {
				return prev, err
			}
		case now.Version != prev.Version:
			return prev, fmt.Errorf("%w (%s)", ErrFenceStateChanged, lockPath)
		default:
			next, err = s.writeFenceState(lockPath, lockNode, prev, st)
		}
	}
	return next, err
}

// stillOurs checks, in one multi, that lockNode (when not "") exists and
// that the fence state is still at now's version.
func (s *Session) stillOurs(lockPath, lockNode string, now VersionedFenceState) error {
	if lockNode == "" {
		return nil
	}
	ops := []any{&zk.CheckVersionRequest{Path: lockNode, Version: -1},
		&zk.CheckVersionRequest{Path: s.abs(FenceStatePath(lockPath)), Version: now.Version}}
	res, err := s.conn.Multi(ops...)
	switch {
	case err == nil:
		return nil
	case len(res) == len(ops) && errors.Is(res[0].Error, zk.ErrNoNode):
		return fmt.Errorf("%w (%s)", ErrLockNodeGone, lockNode)
	case len(res) == len(ops):
		return fmt.Errorf("%w (%s)", ErrFenceStateChanged, lockPath)
	case retryable(err):
		return err
	}
	return fmt.Errorf("write fence state of %s: %w", lockPath, err)
}

func (s *Session) writeFenceState(lockPath, lockNode string, prev VersionedFenceState, st FenceState) (VersionedFenceState, error) {
	if prev.Found() && st.Token < prev.Token {
		return prev, fmt.Errorf("%w: it names token %d, ours is %d", ErrFenceStateChanged, prev.Token, st.Token)
	}
	data, err := json.Marshal(st)
	if err != nil {
		return prev, err
	}
	p := s.abs(FenceStatePath(lockPath))
	var write any = &zk.SetDataRequest{Path: p, Data: data, Version: prev.Version}
	if !prev.Found() {
		write = &zk.CreateRequest{Path: p, Data: data, Acl: s.creds.ACL()}
	}
	ops := []any{write}
	if lockNode != "" {
		// Version -1: the check passes while the node exists, whatever its data.
		ops = []any{&zk.CheckVersionRequest{Path: lockNode, Version: -1}, write}
	}
	res, err := s.conn.Multi(ops...)
	if err != nil && len(res) == len(ops) {
		// A failed multi names the operation that failed; the others
		// answer ZRUNTIMEINCONSISTENCY or nothing.
		if lockNode != "" && errors.Is(res[0].Error, zk.ErrNoNode) {
			return prev, fmt.Errorf("%w (%s)", ErrLockNodeGone, lockNode)
		}
		if e := res[len(res)-1].Error; e != nil {
			err = e
		}
	}
	switch {
	case errors.Is(err, zk.ErrBadVersion), errors.Is(err, zk.ErrNodeExists), errors.Is(err, zk.ErrNoNode):
		return prev, fmt.Errorf("%w (%s)", ErrFenceStateChanged, lockPath)
	case err != nil:
		return prev, fmt.Errorf("write fence state of %s: %w", lockPath, err)
	}
	version := int32(0) // a created node
	if prev.Found() {
		stat := res[len(res)-1].Stat
		if stat == nil {
			return prev, fmt.Errorf("write fence state of %s: no stat in the answer", lockPath)
		}
		version = stat.Version
	}
	return VersionedFenceState{FenceState: st, Version: version}, nil
}
