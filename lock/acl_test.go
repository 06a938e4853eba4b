package lock

import (
	"context"
	"errors"
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
