package main

// Storage tiers of the storage table. Each tier is a directory the
// database's data lives in, and a blkio cgroup (v1) the database server runs
// in, bare or through zkfence:
//
//   - local: a directory on the machine's disk;
//   - fuse: the same disk through bindfs with the kernel's caches of
//     attributes and names off, the network-filesystem stand-in of the chaos
//     suite (internal/fstest);
//   - iops500, iops1000: an ext4 loop device (direct I/O to its image) whose
//     reads and writes the cgroup throttles to that many per second
//     (blkio.throttle.read_iops_device, write_iops_device on the loop's
//     major:minor). cgroup v1 throttles only I/O its tasks submit: direct
//     I/O (O_DIRECT, O_DSYNC) and reads, not the page cache's writeback.
//
// The throttle is on only while a client is measured (throttle(true)):
// starting the server, warming its cache and stopping it run unthrottled, so
// that only the steady state pays.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/zkfence/zkfence/internal/fstest"
)

type tier struct {
	name   string
	note   string
	dir    string // where the databases' data directories go
	mount  string // the volume's mount point, which zkfence guards; "" for the local disk
	fstype string // --fstype for mount
	iops   int    // 0: no throttle
	cgroup string // blkio cgroup directory
	dev    string // "major:minor" of the throttled device
}

// tierSet is the tiers of one run, and how to take them down.
type tierSet struct {
	tiers    []*tier
	cleanups []func()
}

func (s *tierSet) close() {
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		s.cleanups[i]()
	}
}

// blkioRoot is where the cgroup v1 blkio hierarchy is mounted.
const blkioRoot = "/sys/fs/cgroup/blkio"

// makeTiers builds the tiers under base (on the local disk).
func makeTiers(base string, names []string, imageMB int) (*tierSet, error) {
	if _, err := os.Stat(filepath.Join(blkioRoot, "blkio.throttle.read_iops_device")); err != nil {
		return nil, fmt.Errorf("cgroup v1 blkio hierarchy not found at %s: %w", blkioRoot, err)
	}
	s := &tierSet{}
	var loopDir, loopDev string
	for _, name := range names {
		t := &tier{name: name}
		switch {
		case name == "local":
			t.dir, t.note = filepath.Join(base, "local"), "the machine's disk (ext4 on virtio), page cache on"
			if err := os.MkdirAll(t.dir, 0o755); err != nil {
				return s, err
			}
		case name == "fuse":
			src, mnt := filepath.Join(base, "fuse-src"), filepath.Join(base, "fuse")
			for _, d := range []string{src, mnt} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					return s, err
				}
			}
			b, err := fstest.StartBindFS(src, mnt, "-o", "attr_timeout=0,entry_timeout=0,negative_timeout=0")
			if err != nil {
				return s, err
			}
			s.cleanups = append(s.cleanups, func() { b.Close() })
			t.dir, t.mount, t.fstype = mnt, mnt, "fuse*"
			t.note = "bindfs over the local disk, kernel attribute and name caches off (the chaos suite's shared FS)"
		case strings.HasPrefix(name, "iops"):
			n, err := strconv.Atoi(strings.TrimPrefix(name, "iops"))
			if err != nil || n <= 0 {
				return s, fmt.Errorf("tier %q: want iopsN", name)
			}
			if loopDir == "" {
				if loopDir, loopDev, err = s.loop(base, imageMB); err != nil {
					return s, err
				}
			}
			t.dir, t.mount, t.fstype, t.iops, t.dev = loopDir, loopDir, "ext4", n, loopDev
			t.note = fmt.Sprintf("ext4 on a loop device (direct I/O to its image), %d read and %d write IOPS (blkio throttle)", n, n)
		default:
			return s, fmt.Errorf("unknown storage tier %q (want local, fuse, iopsN)", name)
		}
		cg := filepath.Join(blkioRoot, fmt.Sprintf("zkfence-bench-%d-%s", os.Getpid(), name))
		if err := os.Mkdir(cg, 0o755); err != nil {
			return s, err
		}
		s.cleanups = append(s.cleanups, func() { os.Remove(cg) })
		t.cgroup = cg
		s.tiers = append(s.tiers, t)
	}
	return s, nil
}

// loop makes an ext4 image on the local disk, attaches it with direct I/O,
// and mounts it.
func (s *tierSet) loop(base string, imageMB int) (dir, dev string, err error) {
	image, err := fstest.MakeImage(base, imageMB, "ext4")
	if err != nil {
		return "", "", err
	}
	s.cleanups = append(s.cleanups, func() { os.Remove(image) })
	l, err := fstest.NewLoop(image)
	if err != nil {
		return "", "", err
	}
	s.cleanups = append(s.cleanups, func() { l.Detach() })
	if out, err := exec.Command("losetup", "--direct-io=on", l.Dev).CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("losetup --direct-io=on %s: %v: %s", l.Dev, err, out)
	}
	dir = filepath.Join(base, "loop")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	if out, err := exec.Command("mount", l.Dev, dir).CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("mount %s: %v: %s", l.Dev, err, out)
	}
	s.cleanups = append(s.cleanups, func() { exec.Command("umount", dir).Run() })
	var st unix.Stat_t
	if err := unix.Stat(l.Dev, &st); err != nil {
		return "", "", err
	}
	return dir, fmt.Sprintf("%d:%d", unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev))), nil
}

// throttle turns the tier's IOPS limit on or off.
func (t *tier) throttle(on bool) error {
	if t.iops == 0 {
		return nil
	}
	n := 0
	if on {
		n = t.iops
	}
	for _, f := range []string{"blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"} {
		if err := os.WriteFile(filepath.Join(t.cgroup, f), fmt.Appendf(nil, "%s %d", t.dev, n), 0); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	return nil
}

// inCgroup is argv run inside the tier's cgroup: a shell moves itself into
// it and execs argv, so the server and all it forks are in it from their
// first instruction.
func (t *tier) inCgroup(argv []string) []string {
	script := fmt.Sprintf(`echo $$ > %s/cgroup.procs && exec "$@"`, t.cgroup)
	return append([]string{"/bin/sh", "-c", script, "sh"}, argv...)
}
