package lock

import (
	"errors"
	"fmt"

	"github.com/go-zookeeper/zk"
)

// ErrContenderChanged is returned by DeleteContender when the node is gone
// or changed since it was read: it is left alone.
var ErrContenderChanged = errors.New("lock node changed or gone since it was read")

// ContenderNode is one contender's node as read: its data and version.
type ContenderNode struct {
	Name    string
	Data    []byte
	Token   int64 // czxid
	Version int32 // data version, for a conditional delete
}

// ReadContender reads the node name under lockPath.
func (s *Session) ReadContender(lockPath, name string) (ContenderNode, error) {
	data, stat, err := s.conn.Get(s.abs(lockPath) + "/" + name)
	if errors.Is(err, zk.ErrNoNode) {
		return ContenderNode{}, ErrContenderChanged
	}
	if err != nil {
		return ContenderNode{}, fmt.Errorf("read %s/%s: %w", lockPath, name, err)
	}
	return ContenderNode{Name: name, Data: data, Token: stat.Czxid, Version: stat.Version}, nil
}

// DeleteContender deletes another contender's node, only if it is still
// the node that was read (same version; a sequence name is never reused).
// Only a waiter whose fence agent confirmed that contender's node off may
// call it: deleting a live holder's node hands the lock over at once.
func (s *Session) DeleteContender(lockPath string, n ContenderNode) error {
	err := s.conn.Delete(s.abs(lockPath)+"/"+n.Name, n.Version)
	switch {
	case errors.Is(err, zk.ErrNoNode), errors.Is(err, zk.ErrBadVersion):
		return ErrContenderChanged
	case err != nil:
		return fmt.Errorf("delete %s/%s: %w", lockPath, n.Name, err)
	}
	return nil
}
