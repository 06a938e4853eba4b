package lock

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on what an operator can mean by a connect string and a lock path:
// they keep every input, and every log line quoting it, bounded.
const (
	maxConnectString = 4096
	maxPathLength    = 1024
)

// ParseConnectString splits a ZooKeeper connect string
// "host1:2181,host2:2181/chroot" into servers and an optional chroot.
// go-zookeeper does not implement chroots, so zkfence prefixes paths itself.
//
// Every server needs a host and a numeric port in 1-65535 (go-zookeeper
// would retry "h:abc" or "h:99999" forever); the chroot must be a path
// ZooKeeper accepts (ValidatePath) outside ZooKeeper's reserved /zookeeper.
func ParseConnectString(s string) (servers []string, chroot string, err error) {
	if len(s) > maxConnectString {
		return nil, "", fmt.Errorf("zookeeper connect string is %d bytes long, more than %d", len(s), maxConnectString)
	}
	hosts := s
	if i := strings.Index(s, "/"); i >= 0 {
		hosts, chroot = s[:i], s[i:]
		if err := validateChroot(chroot); err != nil {
			return nil, "", err
		}
		if chroot == "/" {
			chroot = ""
		}
	}
	for _, h := range strings.Split(hosts, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if err := validateServer(h); err != nil {
			return nil, "", err
		}
		servers = append(servers, h)
	}
	if len(servers) == 0 {
		return nil, "", fmt.Errorf("zookeeper connect string %q: no servers", s)
	}
	return servers, chroot, nil
}

// validateServer checks one host:port.
func validateServer(h string) error {
	host, port, err := net.SplitHostPort(h)
	if err != nil || host == "" || port == "" {
		return fmt.Errorf("zookeeper address %q: want host:port", h)
	}
	if strings.ContainsFunc(host, func(r rune) bool { return r <= ' ' || r == 0x7f || r == utf8.RuneError }) {
		return fmt.Errorf("zookeeper address %q: the host contains spaces or control characters", h)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return fmt.Errorf("zookeeper address %q: port %q is not a number in 1-65535", h, port)
	}
	return nil
}

// validateChroot checks the chroot of a connect string; "/" means none.
func validateChroot(chroot string) error {
	if chroot == "/" {
		return nil
	}
	if strings.Contains(chroot, ",") {
		return fmt.Errorf("zookeeper chroot %q: give the chroot once, after the last server (h1:2181,h2:2181/chroot)", chroot)
	}
	if err := ValidatePath(chroot); err != nil {
		return fmt.Errorf("zookeeper chroot: %w", err)
	}
	if reserved(chroot) {
		return fmt.Errorf("zookeeper chroot %q: /zookeeper is reserved by ZooKeeper", chroot)
	}
	return nil
}

// ValidateLockPath checks that p is a ZooKeeper path (ValidatePath) that is
// not the root and not under ZooKeeper's reserved /zookeeper.
func ValidateLockPath(p string) error {
	if p == "/" {
		return fmt.Errorf("lock path %q: want an absolute ZooKeeper path such as /zkfence/mydb", p)
	}
	if err := ValidatePath(p); err != nil {
		return fmt.Errorf("lock %w", err)
	}
	if reserved(p) {
		return fmt.Errorf("lock path %q: /zookeeper is reserved by ZooKeeper", p)
	}
	return nil
}

// reserved reports whether p is /zookeeper or under it.
func reserved(p string) bool { return p == "/zookeeper" || strings.HasPrefix(p, "/zookeeper/") }

// ValidatePath accepts what ZooKeeper's own PathUtils.validatePath accepts,
// and only that, so a path the server would refuse (retried forever as a lost
// session) is refused before any connection: absolute, no empty, "." or ".."
// component, no trailing slash, valid UTF-8 without NUL, control characters
// (U+0001-U+001F, U+007F-U+009F), surrogates or private use (U+D800-U+F8FF),
// specials (U+FFF0-U+FFFF) or characters outside the Basic Multilingual
// Plane (Java sees them as surrogate pairs), and at most 1024 bytes.
func ValidatePath(p string) error {
	switch {
	case len(p) > maxPathLength:
		return fmt.Errorf("path is %d bytes long, more than %d", len(p), maxPathLength)
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("path %q: want an absolute ZooKeeper path such as /zkfence/mydb", p)
	case p == "/":
		return nil
	case strings.HasSuffix(p, "/"):
		return fmt.Errorf("path %q: a ZooKeeper path does not end with /", p)
	case !utf8.ValidString(p):
		return fmt.Errorf("path %q: not valid UTF-8", p)
	}
	for _, part := range strings.Split(p[1:], "/") {
		switch part {
		case "":
			return fmt.Errorf("path %q: empty component (//)", p)
		case ".", "..":
			return fmt.Errorf("path %q: %q is not allowed", p, part)
		}
	}
	if i := strings.IndexFunc(p, badPathRune); i >= 0 {
		r, _ := utf8.DecodeRuneInString(p[i:])
		return fmt.Errorf("path %q: character %U is not allowed in a ZooKeeper path", p, r)
	}
	return nil
}

func badPathRune(r rune) bool {
	return r <= 0x1f || (r >= 0x7f && r <= 0x9f) || (r >= 0xd800 && r <= 0xf8ff) || r >= 0xfff0
}
