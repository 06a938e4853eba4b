package lock

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-zookeeper/zk"
)

// Credentials are ZooKeeper digest credentials. They are never logged: the
// String method hides the password.
type Credentials struct {
	User     string
	Password string
}

// ParseCredentials reads "user:password".
func ParseCredentials(s string) (Credentials, error) {
	s = strings.TrimSpace(s)
	user, pass, ok := strings.Cut(s, ":")
	if !ok || user == "" || pass == "" {
		return Credentials{}, errors.New("zookeeper credentials: want user:password")
	}
	return Credentials{User: user, Password: pass}, nil
}

func (c Credentials) String() string { return c.User + ":<hidden>" }

// ACL is what zkfence puts on the lock path and its lock nodes when it has
// credentials: everything for its own user, read for anyone (so that
// `zkfence status` and monitoring work without credentials). ZooKeeper checks
// DELETE on the parent, so it is the lock path's ACL that keeps other clients
// from deleting lock nodes.
func (c Credentials) ACL() []zk.ACL {
	if c.User == "" {
		return zk.WorldACL(zk.PermAll)
	}
	acl := zk.DigestACL(zk.PermAll, c.User, c.Password)
	return append(acl, zk.WorldACL(zk.PermRead)...)
}

// checkPathACL warns when the lock path lets anyone delete lock nodes
// although zkfence was given credentials.
func (s *Session) checkPathACL(dir string) {
	if s.creds.User == "" {
		return
	}
	acl, _, err := s.conn.GetACL(dir)
	if err != nil {
		return
	}
	for _, a := range acl {
		if a.Scheme == "world" && a.Perms&zk.PermDelete != 0 {
			s.log.Warn("lock path lets anyone delete lock nodes; set its ACL", "path", dir,
				"acl", fmt.Sprintf("%s:%s:%d", a.Scheme, a.ID, a.Perms))
			return
		}
	}
}
