package lock

import (
	"net"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseConnectString(t *testing.T) {
	tests := []struct {
		in      string
		servers []string
		chroot  string
	}{
		{"zk1:2181", []string{"zk1:2181"}, ""},
		{"zk1:2181, zk2:2182,,zk3:2183/apps/db", []string{"zk1:2181", "zk2:2182", "zk3:2183"}, "/apps/db"},
		{"[::1]:2181/", []string{"[::1]:2181"}, ""},
		{"127.0.0.1:65535/zookeeper-not-reserved", []string{"127.0.0.1:65535"}, "/zookeeper-not-reserved"},
	}
	for _, tt := range tests {
		servers, chroot, err := ParseConnectString(tt.in)
		if err != nil || !reflect.DeepEqual(servers, tt.servers) || chroot != tt.chroot {
			t.Errorf("ParseConnectString(%q) = %q, %q, %v", tt.in, servers, chroot, err)
		}
	}
}

// TestParseConnectStringRefusals: each was accepted and then retried
// forever, or reached ZooKeeper's reserved tree (issue 16, item 2).
func TestParseConnectStringRefusals(t *testing.T) {
	tests := []struct{ in, want string }{
		{"h:abc", "not a number"},
		{"h:99999", "not a number in 1-65535"},
		{"h:0", "not a number in 1-65535"},
		{"h:-1", "not a number"},
		{"h", "want host:port"},
		{":2181", "want host:port"},
		{"h:2181/zookeeper", "reserved"},
		{"h:2181/zookeeper/quota", "reserved"},
		{"h:2181/a/../zookeeper", "not allowed"},
		{"h:2181/app/", "does not end with /"},
		{"h:2181/a//b", "empty component"},
		{"h:2181/a\x00b", "not allowed"},
		{"h:2181/a\nb", "not allowed"},
		{"h1:2181/app,h2:2181/app", "after the last server"},
		{"h\x01:2181", "control characters"},
		{"/app", "no servers"},
		{strings.Repeat("h", 5000) + ":1", "bytes long"},
	}
	for _, tt := range tests {
		_, _, err := ParseConnectString(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseConnectString(%q) = %v, want an error saying %q", tt.in, err, tt.want)
		}
	}
}

func TestValidateLockPath(t *testing.T) {
	for _, ok := range []string{"/zkfence/db", "/a", "/zookeeperish", "/a/.b/c..d", "/ünïcode/db"} {
		if err := ValidateLockPath(ok); err != nil {
			t.Errorf("ValidateLockPath(%q) = %v", ok, err)
		}
	}
	tests := []struct{ in, want string }{
		{"/", "absolute"},
		{"x", "absolute"},
		{"/x/", "does not end with /"},
		{"/a//b", "empty component"},
		{"/a/./b", "not allowed"},
		{"/a/..", "not allowed"},
		{"/zookeeper", "reserved"},
		{"/zookeeper/config", "reserved"},
		{"/db\x00", "U+0000"},
		{"/db\x1b[31m", "U+001B"},
		{"/db\u0085", "U+0085"},
		{"/db\ue000", "U+E000"},
		{"/db\U0001F600", "U+1F600"},
		{"/db\xff", "UTF-8"},
		{"/" + strings.Repeat("a", 2000), "bytes long"},
	}
	for _, tt := range tests {
		err := ValidateLockPath(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ValidateLockPath(%q) = %v, want an error saying %q", tt.in, err, tt.want)
		}
	}
}

// FuzzParseConnectString: no input panics, and whatever is accepted is
// servers with a host and a port in 1-65535 and a chroot ZooKeeper accepts
// outside /zookeeper. `go test` runs the seeds; see the README for longer runs.
func FuzzParseConnectString(f *testing.F) {
	for _, s := range []string{"zk1:2181,zk2:2181/apps/db", "h:abc", "h:99999", "[::1]:2181/", "h:1/zookeeper",
		"h:1/a/../zookeeper", "h:1/a\x00", " , h:1 ,", "h:2181/app,h2:2181/app"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		servers, chroot, err := ParseConnectString(s)
		if err != nil {
			return
		}
		if len(servers) == 0 {
			t.Fatalf("%q: accepted without servers", s)
		}
		for _, h := range servers {
			host, port, err := net.SplitHostPort(h)
			n, perr := strconv.Atoi(port)
			if err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
				t.Fatalf("%q: accepted server %q", s, h)
			}
		}
		if chroot != "" && (ValidatePath(chroot) != nil || reserved(chroot) || chroot == "/") {
			t.Fatalf("%q: accepted chroot %q", s, chroot)
		}
	})
}

// FuzzValidateLockPath: an accepted lock path is one ZooKeeper accepts, not
// the root and not under /zookeeper, so it can never be "retried forever".
func FuzzValidateLockPath(f *testing.F) {
	for _, s := range []string{"/zkfence/db", "/", "/zookeeper/x", "/a/../b", "/a\x00", "/a\x1f", "/\ud7ff", "/\U00010000", "/a/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if ValidateLockPath(p) != nil {
			return
		}
		if !utf8.ValidString(p) || !strings.HasPrefix(p, "/") || p == "/" || strings.HasSuffix(p, "/") || reserved(p) || len(p) > maxPathLength {
			t.Fatalf("accepted %q", p)
		}
		for _, part := range strings.Split(p[1:], "/") {
			if part == "" || part == "." || part == ".." {
				t.Fatalf("accepted %q", p)
			}
		}
		for _, r := range p {
			if r < 0x20 || (r >= 0x7f && r <= 0x9f) || (r >= 0xd800 && r <= 0xf8ff) || r >= 0xfff0 {
				t.Fatalf("accepted %q with %U", p, r)
			}
		}
	})
}
