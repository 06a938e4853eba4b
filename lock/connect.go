package lock

import (
	"fmt"
	"net"
	"path"
	"strings"
)

// ParseConnectString splits a ZooKeeper connect string
// "host1:2181,host2:2181/chroot" into servers and an optional chroot.
// go-zookeeper does not implement chroots, so zkfence prefixes paths itself.
func ParseConnectString(s string) (servers []string, chroot string, err error) {
	hosts := s
	if i := strings.Index(s, "/"); i >= 0 {
		hosts, chroot = s[:i], path.Clean(s[i:])
		if chroot == "/" {
			chroot = ""
		}
	}
	for _, h := range strings.Split(hosts, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(h); err != nil || port == "" {
			return nil, "", fmt.Errorf("zookeeper address %q: want host:port", h)
		}
		servers = append(servers, h)
	}
	if len(servers) == 0 {
		return nil, "", fmt.Errorf("zookeeper connect string %q: no servers", s)
	}
	return servers, chroot, nil
}

// ValidateLockPath checks that p is an absolute ZooKeeper path that is not the root.
func ValidateLockPath(p string) error {
	if !strings.HasPrefix(p, "/") || p == "/" || strings.HasSuffix(p, "/") || strings.Contains(p, "//") {
		return fmt.Errorf("lock path %q: want an absolute ZooKeeper path such as /zkfence/mydb", p)
	}
	if p == "/zookeeper" || strings.HasPrefix(p, "/zookeeper/") {
		return fmt.Errorf("lock path %q: /zookeeper is reserved by ZooKeeper", p)
	}
	for _, part := range strings.Split(p[1:], "/") {
		if part == "." || part == ".." {
			return fmt.Errorf("lock path %q: %q is not allowed", p, part)
		}
	}
	return nil
}
