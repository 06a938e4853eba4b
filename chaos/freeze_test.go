//go:build chaos

package chaos

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/zkfence/zkfence/internal/freezer"
)

// cgroupV2Freezer is a container's own cgroup in the cgroup v2 hierarchy.
// Writing its cgroup.freeze is exactly what docker pause does on a cgroup v2
// host; on a host whose Docker still uses cgroup v1 (a hybrid hierarchy, as
// on the machine this suite was written on) runc puts the container in a v2
// cgroup too, and the suite freezes that one itself.
func (s *suite) cgroupV2Freezer(c *ctr) (*freezer.Freezer, error) {
	in, err := s.pool.Client.InspectContainer(c.id)
	if err != nil {
		return nil, err
	}
	root, err := freezer.Mount(true)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(in.State.Pid) + "/cgroup")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if path, ok := strings.CutPrefix(line, "0::"); ok {
			if path == "/" {
				break
			}
			return &freezer.Freezer{Dir: filepath.Join(root, path), V2: true}, nil
		}
	}
	return nil, fmt.Errorf("container %s has no cgroup v2 of its own", c.name)
}

// storageOutsideFreeze moves the node's bindfs out of the container's
// cgroup v2, into one of the suite's own, so that freezing the container
// does not freeze it. bindfs stands for a network filesystem's client,
// which lives in the kernel, where a cgroup freeze does not reach: a write
// request in flight when the container freezes is answered during the
// freeze, not at the thaw. (A FUSE network filesystem whose daemon runs in
// the container does freeze with it, and its in-flight writes land at the
// thaw, over what the new holder wrote since: README.)
func (s *suite) storageOutsideFreeze(fz *freezer.Freezer) error {
	outside, err := freezer.New("zkfence-chaos-storage-"+s.run, true)
	if err != nil {
		return err
	}
	s.root.Cleanup(func() { _ = outside.Remove() })
	moved := 0
	for _, pid := range fz.Procs() {
		comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		if err != nil || strings.TrimSpace(string(comm)) != "bindfs" {
			continue
		}
		if err := outside.Add(pid); err != nil {
			return fmt.Errorf("moving bindfs %d out of %s: %w", pid, fz.Dir, err)
		}
		moved++
	}
	if moved == 0 {
		return fmt.Errorf("no bindfs in %s", fz.Dir)
	}
	return nil
}

// dockerFreezerV1 reports whether Docker's docker pause uses the cgroup v1
// freezer here (the container's v1 freezer cgroup exists).
func dockerFreezerV1(c *ctr) bool {
	_, err := os.Stat("/sys/fs/cgroup/freezer/docker/" + c.id + "/freezer.state")
	return err == nil
}

// v2FrozenPath is where the observer reads whether a container's cgroup v2
// is frozen; "" when there is no v2 hierarchy.
var v2Root, _ = freezer.Mount(true)

func v2Frozen(cid string) bool {
	if v2Root == "" {
		return false
	}
	for _, dir := range []string{"docker/" + cid, "system.slice/docker-" + cid + ".scope"} {
		data, err := os.ReadFile(filepath.Join(v2Root, dir, "cgroup.events"))
		if err == nil {
			return strings.Contains(string(data), "frozen 1")
		}
	}
	return false
}
