package fenceagent

import (
	"bufio"
	"bytes"
	"os"
	"regexp"
	"strings"

	"github.com/moby/sys/mountinfo"
)

// SelfID is this node's default fence id: inside a container, the
// container's ID (what fence_docker and container runtimes take as plug),
// else the host name. It also says where the ID came from: "cgroup",
// "mountinfo" or "hostname".
func SelfID() (id, source string, err error) {
	cgroup, _ := os.ReadFile("/proc/self/cgroup")
	if id := containerIDFromCgroup(cgroup); id != "" {
		return id, "cgroup", nil
	}
	mountinfo, _ := os.ReadFile("/proc/self/mountinfo")
	if id := containerIDFromMountinfo(mountinfo); id != "" {
		return id, "mountinfo", nil
	}
	host, err := os.Hostname()
	if err != nil {
		return "", "", err
	}
	return host, "hostname", checkPlug(host)
}

var (
	// A container's cgroup path ends in its ID: /docker/<id> (cgroup v1,
	// cgroupfs driver), /system.slice/docker-<id>.scope (systemd driver),
	// cri-containerd-<id>.scope, libpod-<id>.scope, /kubepods/.../<id>.
	cgroupIDRe = regexp.MustCompile(`(?:^|[/-])([0-9a-f]{64})(?:\.scope)?$`)
	// Docker and Podman bind-mount /etc/hostname from a directory named by
	// the container's ID: /var/lib/docker/containers/<id>/hostname,
	// .../overlay-containers/<id>/userdata/hostname.
	mountIDRe = regexp.MustCompile(`containers/([0-9a-f]{64})/`)
)

// containerIDFromCgroup reads /proc/self/cgroup. Under cgroup v2 with a
// cgroup namespace of its own the path is "/" and names nothing.
func containerIDFromCgroup(b []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if m := cgroupIDRe.FindStringSubmatch(parts[2]); m != nil {
			return m[1]
		}
	}
	return ""
}

// containerIDFromMountinfo finds the source of the /etc/hostname (or
// /etc/hosts, /etc/resolv.conf) bind mount in /proc/self/mountinfo: the root
// of that mount names the container's directory.
func containerIDFromMountinfo(b []byte) string {
	mounts, _ := mountinfo.GetMountsFromReader(bytes.NewReader(b), func(i *mountinfo.Info) (skip, stop bool) {
		switch i.Mountpoint {
		case "/etc/hostname", "/etc/hosts", "/etc/resolv.conf":
			return false, false
		}
		return true, false
	})
	for _, m := range mounts {
		if id := mountIDRe.FindStringSubmatch(m.Root); id != nil {
			return id[1]
		}
	}
	return ""
}
