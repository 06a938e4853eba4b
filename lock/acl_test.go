package lock

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

func TestCredentialsProtectLockNodes(t *testing.T) {
	needZK(t)
	p := "/acl-test/db"
	creds := Credentials{User: "zkfence", Password: "s3cret"}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	owner, err := Dial(ctx, SessionConfig{Servers: []string{server.Addr()}, SessionTimeout: 10 * time.Second, Credentials: creds, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	held, err := owner.Acquire(ctx, AcquireOptions{Path: p, Data: Self("test").Encode()})
	if err != nil {
		t.Fatal(err)
	}
	stranger := dial(t, server.Addr(), 10*time.Second)
	if err := stranger.conn.Delete(held.Node, -1); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("unauthenticated delete of a lock node: %v, want ErrNoAuth", err)
	}
	if _, err := stranger.conn.Create(owner.abs(p)+"/intruder-lock-", nil, zk.FlagEphemeral|zk.FlagSequence, zk.WorldACL(zk.PermAll)); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("unauthenticated contender create: %v, want ErrNoAuth", err)
	}
	// Reading stays open, so status and monitoring need no credentials.
	line, err := stranger.Contenders(p)
	if err != nil || len(line) != 1 || line[0].Token != held.Token {
		t.Fatalf("unauthenticated status: %+v, %v", line, err)
	}
	if got := creds.String(); got != "zkfence:<hidden>" {
		t.Fatalf("credentials print as %q", got)
	}
	if err := owner.deleteNode(held.Node); err != nil {
		t.Fatal(err)
	}
}

func TestParseCredentials(t *testing.T) {
	for _, bad := range []string{"", "user", "user:", ":pass"} {
		if _, err := ParseCredentials(bad); err == nil {
			t.Errorf("ParseCredentials(%q) accepted", bad)
		}
	}
	c, err := ParseCredentials(" app:pa:ss\n")
	if err != nil || c.User != "app" || c.Password != "pa:ss" {
		t.Fatalf("ParseCredentials = %+v, %v", c, err)
	}
}

func TestCheckACL(t *testing.T) {
	creds := Credentials{User: "zkfence", Password: "s3cret"}
	other := Credentials{User: "zkfence", Password: "0ther-pw"}
	ours := creds.ACL()
	tests := []struct {
		name  string
		acl   []zk.ACL
		creds Credentials
		want  string // "" for accepted
	}{
		{"ours", ours, creds, ""},
		{"open without credentials", zk.WorldACL(zk.PermAll), Credentials{}, ""},
		{"open with credentials", zk.WorldACL(zk.PermAll), creds, "lets anyone create, delete or change"},
		{"anyone may delete", append(zk.DigestACL(zk.PermAll, "zkfence", "s3cret"), zk.WorldACL(zk.PermRead|zk.PermDelete)...), creds, "world:anyone:dr"},
		{"wrong password", ours, other, "wrong password for ZooKeeper user zkfence"},
		{"protected, no credentials", ours, Credentials{}, "an unauthenticated client"},
		{"another user", zk.DigestACL(zk.PermAll, "app", "x"), creds, "user zkfence may not read, create and delete"},
		{"ip scheme: the server decides", []zk.ACL{{Perms: zk.PermAll, Scheme: "ip", ID: "10.0.0.0/8"}}, creds, ""},
	}
	// The ancestor a missing lock path will be created under: create is all
	// that is needed there, and an open ACL is not the lock path's.
	if err := checkACL("/db", "/chroot", zk.WorldACL(zk.PermAll), creds, zk.PermCreate); err != nil {
		t.Errorf("open ancestor: %v", err)
	}
	if err := checkACL("/db", "/chroot", ours, other, zk.PermCreate); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "wrong password") {
		t.Errorf("protected ancestor, wrong password: %v", err)
	}
	if err := checkACL("/db", "/chroot", zk.WorldACL(zk.PermRead), creds, zk.PermCreate); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "may not create lock path /db under /chroot") {
		t.Errorf("read-only ancestor: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkACL("/db", "/chroot/db", tt.acl, tt.creds, needPerms)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("checkACL = %v, want ErrRefused saying %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "0ther-pw") {
				t.Fatalf("the message shows a password: %v", err)
			}
		})
	}
}

// TestWrongPasswordIsRefusedAtOnce: NOAUTH was retried forever (issue 16,
// item 2); it is ErrRefused as soon as the server answers, naming the user
// and never the password, and no lock node is left behind.
func TestWrongPasswordIsRefusedAtOnce(t *testing.T) {
	needZK(t)
	creds := Credentials{User: "zkfence", Password: "s3cret"}
	wrong := Credentials{User: "zkfence", Password: "wr0ng"}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	owner := dialCreds(t, creds)
	if _, err := owner.Acquire(ctx, AcquireOptions{Path: "/acl-wrong/db", Data: Self("test").Encode()}); err != nil {
		t.Fatal(err)
	}
	owner.Close() // the path stays, protected by creds
	for _, p := range []string{"/acl-wrong/db", "/acl-wrong/other"} {
		s := dialCreds(t, wrong)
		start := time.Now()
		_, err := s.Acquire(ctx, AcquireOptions{Path: p, Data: Self("test").Encode()})
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "zkfence") || strings.Contains(err.Error(), "wr0ng") {
			t.Fatalf("%s: Acquire with a wrong password = %v, want ErrRefused naming the user only", p, err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("%s: refused after %v", p, took)
		}
		t.Logf("%s: %v", p, err)
		children, _, _ := s.conn.Children("/acl-wrong/db")
		if len(children) != 0 {
			t.Fatalf("lock nodes left: %v", children)
		}
	}
}

// TestOpenLockPathIsRefusedWithCredentials: a lock path made by someone else
// with an open ACL let anyone delete the holder's node (issue 16, item 6).
func TestOpenLockPathIsRefusedWithCredentials(t *testing.T) {
	needZK(t)
	p := lockPath(t)
	stranger := dial(t, server.Addr(), 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := stranger.ensurePath(ctx, stranger.abs(p), AcquireOptions{ACL: zk.WorldACL(zk.PermAll)}); err != nil {
		t.Fatal(err)
	}
	s := dialCreds(t, Credentials{User: "zkfence", Password: "s3cret"})
	if err := s.CheckLockPath(p); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "world:anyone:cdrwa") {
		t.Fatalf("CheckLockPath = %v, want ErrRefused", err)
	}
	if _, err := s.Acquire(ctx, AcquireOptions{Path: p, Data: Self("test").Encode()}); !errors.Is(err, ErrRefused) {
		t.Fatalf("Acquire on an open lock path with credentials = %v, want ErrRefused", err)
	}
	// Without credentials the open ACL is what zkfence itself would set.
	if err := stranger.CheckLockPath(p); err != nil {
		t.Fatalf("CheckLockPath without credentials = %v", err)
	}
}

func dialCreds(t *testing.T, creds Credentials) *Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := Dial(ctx, SessionConfig{Servers: []string{server.Addr()}, SessionTimeout: 10 * time.Second, Credentials: creds, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}
