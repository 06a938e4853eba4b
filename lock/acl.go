package lock

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/go-zookeeper/zk"
)

// ErrRefused is wrapped by errors that mean ZooKeeper refuses this
// configuration: wrong credentials, a lock path whose ACL keeps us out, or one
// whose open ACL lets anyone delete lock nodes although zkfence was given
// credentials. Retrying cannot help: the run is refused (exit 78).
var ErrRefused = errors.New("refused by zookeeper")

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

// who names the client in messages: the user, never the password.
func (c Credentials) who() string {
	if c.User == "" {
		return "an unauthenticated client (no --zk-auth-file)"
	}
	return "user " + c.User
}

// openPerms are the rights that, granted to anyone, let a stranger steer the
// lock: delete a holder's node, queue ahead, or rewrite the ACL.
const openPerms = zk.PermCreate | zk.PermDelete | zk.PermAdmin

// needPerms are what a contender needs on the lock path: list the line,
// create its node, delete it on release.
const needPerms = zk.PermRead | zk.PermCreate | zk.PermDelete

// CheckLockPath checks the ACL of lock path p (relative to the chroot)
// against the credentials, before anything is created under it. It returns
// an error wrapping ErrRefused when:
//
//   - zkfence has credentials and the ACL grants anyone create, delete or
//     admin: an unauthenticated client could delete the holder's node at
//     will. zkfence refuses rather than rewrite an ACL it did not set (the
//     path may be shared with other tools, or set so on purpose): the
//     operator sets it, with the command the message gives;
//   - the ACL (world and digest entries only) does not let us read, create
//     and delete: ZooKeeper would answer NOAUTH; a digest entry for our user
//     with another password is reported as a wrong password.
//
// A lock path that does not exist yet is created with Credentials.ACL; then
// its nearest existing ancestor must let us create under it. Other errors (a
// lost connection) are returned as they are.
func (s *Session) CheckLockPath(p string) error {
	dir := s.abs(p)
	for q := dir; ; q = path.Dir(q) { // ends at "/", which exists
		acl, _, err := s.conn.GetACL(q)
		switch {
		case errors.Is(err, zk.ErrNoNode) && q != "/":
			continue
		case errors.Is(err, zk.ErrNoAuth) && q == dir:
			return s.noAuth(q, err)
		case errors.Is(err, zk.ErrNoAuth):
			return nil // an ancestor we may not read: the server decides
		case err != nil:
			return fmt.Errorf("read the ACL of %s: %w", q, err)
		case q == dir:
			return checkACL(p, dir, acl, s.creds, needPerms)
		}
		return checkACL(p, q, acl, s.creds, zk.PermCreate)
	}
}

// checkACL is CheckLockPath's decision on the ACL of dir on the server (with
// the chroot): the lock path p itself, with need = needPerms, or the
// ancestor it will be created under, with need = PermCreate.
func checkACL(p, dir string, acl []zk.ACL, creds Credentials, need int32) error {
	var ours string
	if creds.User != "" {
		ours = zk.DigestACL(zk.PermAll, creds.User, creds.Password)[0].ID
	}
	lockPath := need == needPerms
	var granted int32
	conclusive, wrongPassword := true, false
	for _, a := range acl {
		switch {
		case a.Scheme == "world" && a.ID == "anyone":
			if lockPath && creds.User != "" && a.Perms&openPerms != 0 {
				return fmt.Errorf("%w: lock path %s lets anyone create, delete or change its lock nodes "+
					"(ACL world:anyone:%s) although zkfence runs as %s; set its ACL, for example in zkCli.sh: "+
					"addauth digest %s:<password> then setAcl %s auth::cdrwa,world:anyone:r",
					ErrRefused, p, permString(a.Perms), creds.who(), creds.User, dir)
			}
			granted |= a.Perms
		case a.Scheme == "digest" && ours != "" && a.ID == ours:
			granted |= a.Perms
		case a.Scheme == "digest" && creds.User != "" && strings.HasPrefix(a.ID, creds.User+":"):
			wrongPassword = true
		case a.Scheme != "digest" && a.Scheme != "world":
			conclusive = false // ip, sasl, x509, ...: the server decides
		}
	}
	if granted&need == need || !conclusive {
		return nil
	}
	if wrongPassword {
		return fmt.Errorf("%w: wrong password for ZooKeeper user %s: the ACL of %s gives %s's rights to another password",
			ErrRefused, creds.User, dir, creds.User)
	}
	if !lockPath {
		return fmt.Errorf("%w: %s may not create lock path %s under %s (it has %s there); "+
			"use the credentials %s was created with, or another lock path", ErrRefused, creds.who(), p, dir, permString(granted), dir)
	}
	return fmt.Errorf("%w: %s may not read, create and delete under lock path %s (it has %s); "+
		"use the credentials the path was created with, or another lock path", ErrRefused, creds.who(), p, permString(granted))
}

// noAuth explains a NOAUTH answer to a request on path p (on the server):
// it is a refusal, never retried.
func (s *Session) noAuth(p string, err error) error {
	return fmt.Errorf("%w: zookeeper refused %s on %s (%v): a wrong password, or a path created with other credentials",
		ErrRefused, s.creds.who(), p, err)
}

// permString writes permissions as zkCli does: cdrwa.
func permString(p int32) string {
	var b strings.Builder
	for _, x := range []struct {
		bit int32
		c   byte
	}{{zk.PermCreate, 'c'}, {zk.PermDelete, 'd'}, {zk.PermRead, 'r'}, {zk.PermWrite, 'w'}, {zk.PermAdmin, 'a'}} {
		if p&x.bit != 0 {
			b.WriteByte(x.c)
		}
	}
	if b.Len() == 0 {
		return "no rights"
	}
	return b.String()
}
