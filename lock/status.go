package lock

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-zookeeper/zk"
)

// Contender is one node in line for the lock, holder first.
type Contender struct {
	Node   string    `json:"node"`
	Seq    int64     `json:"seq"`
	Token  int64     `json:"token"` // czxid: the fencing token it has or will have
	Since  time.Time `json:"since"` // when the node was created
	Holder *Holder   `json:"holder,omitempty"`
	Data   string    `json:"data,omitempty"` // another client's data, as text
}

// Contenders lists the nodes in line for the lock at lockPath, the holder
// first. A missing lock path is an empty line.
func (s *Session) Contenders(lockPath string) ([]Contender, error) {
	dir := s.abs(lockPath)
	children, _, err := s.conn.Children(dir)
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", lockPath, err)
	}
	var out []Contender
	for _, c := range sortedContenders(children) {
		data, stat, err := s.conn.Get(dir + "/" + c.Name)
		if errors.Is(err, zk.ErrNoNode) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("read %s/%s: %w", lockPath, c.Name, err)
		}
		k := Contender{Node: c.Name, Seq: c.Seq, Token: stat.Czxid, Since: time.UnixMilli(stat.Ctime).UTC()}
		if h, ok := ParseHolder(data); ok {
			k.Holder = &h
		} else {
			k.Data = string(data)
		}
		out = append(out, k)
	}
	return out, nil
}
