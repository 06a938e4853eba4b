package lock

import "github.com/go-zookeeper/zk"

// zkConn is the part of *zk.Conn the lock recipe uses. Tests wrap a real
// connection to inject faults (a create whose answer is lost, a failing
// request after the create) against a real ZooKeeper.
type zkConn interface {
	Create(path string, data []byte, flags int32, acl []zk.ACL) (string, error)
	Children(path string) ([]string, *zk.Stat, error)
	Exists(path string) (bool, *zk.Stat, error)
	ExistsW(path string) (bool, *zk.Stat, <-chan zk.Event, error)
	Get(path string) ([]byte, *zk.Stat, error)
	Set(path string, data []byte, version int32) (*zk.Stat, error)
	GetW(path string) ([]byte, *zk.Stat, <-chan zk.Event, error)
	Delete(path string, version int32) error
	GetACL(path string) ([]zk.ACL, *zk.Stat, error)
	Multi(ops ...interface{}) ([]zk.MultiResponse, error)
	SessionID() int64
	Server() string
	State() zk.State
	Close()
}

var _ zkConn = (*zk.Conn)(nil)
