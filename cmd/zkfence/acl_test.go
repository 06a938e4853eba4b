package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkfence/zkfence/exitcode"
	"github.com/zkfence/zkfence/internal/fstest"
)

// aclPaths makes two lock paths for the test: one with an open ACL (made by
// someone without credentials), one protected by zkfence:s3cret.
func aclPaths(t *testing.T) (open, protected string) {
	t.Helper()
	conn := connect(t)
	if err := conn.AddAuth("digest", []byte("zkfence:s3cret")); err != nil {
		t.Fatal(err)
	}
	base := "/test/" + strings.ReplaceAll(t.Name(), "/", "_")
	open, protected = base+"-open", base+"-protected"
	acls := map[string][]zk.ACL{
		"/test":   zk.WorldACL(zk.PermAll),
		open:      zk.WorldACL(zk.PermAll),
		protected: append(zk.DigestACL(zk.PermAll, "zkfence", "s3cret"), zk.WorldACL(zk.PermRead)...),
	}
	for _, p := range []string{"/test", open, protected} {
		if _, err := conn.Create(p, nil, 0, acls[p]); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			t.Fatal(err)
		}
	}
	return open, protected
}

// TestCheckReportsLockPathACLProblems: `zkfence check` reports an open lock
// path ACL under credentials, and a wrong password, as problems (issue 16,
// item 6), naming the user and never the password.
func TestCheckReportsLockPathACLProblems(t *testing.T) {
	needBinaryAndZK(t)
	open, protected := aclPaths(t)
	tests := []struct {
		name, lock, auth, want string
		code                   int
	}{
		{"open ACL with credentials", open, "zkfence:s3cret", "PROBLEM  lock " + open + ": refused by zookeeper: lock path " + open + " lets anyone", 1},
		{"wrong password", protected, "zkfence:wr0ng", "wrong password for ZooKeeper user zkfence", 1},
		{"wrong password, lock path not created yet", protected + "/db", "zkfence:wr0ng", "wrong password for ZooKeeper user zkfence", 1},
		{"right password", protected, "zkfence:s3cret", "all checks passed", 0},
		{"open ACL without credentials", open, "", "all checks passed", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"check", "--zk", server.Addr(), "--lock", tt.lock, "--freeze-guard", "off"}, fastFlags...), "--", "true")
			cmd := exec.Command(binary, args...)
			cmd.Env = os.Environ()
			if tt.auth != "" {
				cmd.Env = append(cmd.Env, "ZKFENCE_ZK_AUTH="+tt.auth)
			}
			out, err := cmd.CombinedOutput()
			if code := fstest.ExitStatus(err); code != tt.code || !strings.Contains(string(out), tt.want) {
				t.Fatalf("exit %d, want %d and %q\n%s", code, tt.code, tt.want, out)
			}
			if strings.Contains(string(out), "s3cret") || strings.Contains(string(out), "wr0ng") {
				t.Fatalf("check printed a password:\n%s", out)
			}
		})
	}
}

// TestZooKeeperRefusalsExit78: a wrong password (NOAUTH) and an open lock
// path under credentials were retried forever or only warned about (issue
// 16, items 2 and 6): run exits 78 as soon as ZooKeeper answers, the child
// never starts, and the message names the user, never the password.
func TestZooKeeperRefusalsExit78(t *testing.T) {
	needBinaryAndZK(t)
	open, protected := aclPaths(t)
	tests := []struct {
		name, lock, auth, want string
	}{
		{"wrong password", protected, "zkfence:wr0ng", "wrong password for ZooKeeper user zkfence"},
		{"wrong password below the path", protected + "/db", "zkfence:wr0ng", "zookeeper refused user zkfence"},
		{"open ACL with credentials", open, "zkfence:s3cret", "lets anyone create, delete or change its lock nodes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			marker := filepath.Join(t.TempDir(), "started")
			w := startWrapper(t, []string{"ZKFENCE_ZK_AUTH=" + tt.auth},
				runArgs(server.Addr(), tt.lock, "--freeze-guard", "off", "--", "touch", marker)...)
			if code := w.wait(10 * time.Second); code != exitcode.RefusedConfig {
				t.Fatalf("exit %d, want %d", code, exitcode.RefusedConfig)
			}
			if !strings.Contains(w.log(), tt.want) || strings.Contains(w.log(), "s3cret") || strings.Contains(w.log(), "wr0ng") {
				t.Fatalf("want %q and no password in:\n%s", tt.want, w.log())
			}
			if _, err := os.Stat(marker); err == nil {
				t.Fatal("the child ran")
			}
		})
	}
}
