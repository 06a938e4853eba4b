package fsguard

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// mountinfoPath is the mount table of this process's mount namespace.
const mountinfoPath = "/proc/self/mountinfo"

// mountEntry is one line of /proc/self/mountinfo (proc(5)), unescaped:
//
//	36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//	ID PA MA:MI root  mountpoint  mount opts optional - type source   super opts
type mountEntry struct {
	ID, Parent   int
	Major, Minor uint32
	Root         string
	MountPoint   string
	Options      []string // per-mount options
	FSType       string
	Source       string
	SuperOptions []string
}

// unwritable says why the mount no longer takes writes, or "" when it does:
// the mount or its superblock is read-only ("ro"; also after an ext4 error
// with errors=remount-ro on older kernels), or ext4 reports "emergency_ro"
// (an error, on Linux 6.x) or "shutdown" (FS_IOC_SHUTDOWN, or a dead
// device). statfs reports none of the ext4 states.
func (m mountEntry) unwritable() string {
	switch {
	case slices.Contains(m.Options, "ro"):
		return "mounted read-only"
	case slices.Contains(m.SuperOptions, "ro"):
		return "filesystem read-only"
	case slices.Contains(m.SuperOptions, "emergency_ro"):
		return "filesystem read-only after an error (emergency_ro)"
	case slices.Contains(m.SuperOptions, "shutdown"):
		return "filesystem shut down"
	}
	return ""
}

// readMountinfo reads and parses this process's mount table. Reading it
// never touches a mounted filesystem, so it cannot hang on one.
func readMountinfo() ([]mountEntry, error) {
	b, err := os.ReadFile(mountinfoPath)
	if err != nil {
		return nil, err
	}
	return parseMountinfo(string(b))
}

func parseMountinfo(s string) ([]mountEntry, error) {
	var out []mountEntry
	for i, line := range strings.Split(s, "\n") {
		if line == "" {
			continue
		}
		e, err := parseMountinfoLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", mountinfoPath, i+1, err)
		}
		out = append(out, e)
	}
	return out, nil
}

func parseMountinfoLine(line string) (mountEntry, error) {
	var e mountEntry
	f := strings.Fields(line)
	sep := slices.Index(f, "-")
	if sep < 6 || len(f) < sep+3 {
		return e, fmt.Errorf("malformed entry %q", line)
	}
	var err1, err2 error
	e.ID, err1 = strconv.Atoi(f[0])
	e.Parent, err2 = strconv.Atoi(f[1])
	ma, mi, ok := strings.Cut(f[2], ":")
	major, err3 := strconv.ParseUint(ma, 10, 32)
	minor, err4 := strconv.ParseUint(mi, 10, 32)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || !ok {
		return e, fmt.Errorf("malformed entry %q", line)
	}
	e.Major, e.Minor = uint32(major), uint32(minor)
	e.Root, e.MountPoint = unescapeOctal(f[3]), unescapeOctal(f[4])
	e.Options = strings.Split(f[5], ",")
	e.FSType, e.Source = f[sep+1], unescapeOctal(f[sep+2])
	if len(f) > sep+3 {
		e.SuperOptions = strings.Split(f[sep+3], ",")
	}
	return e, nil
}

// unescapeOctal undoes the kernel's escaping of space, tab, newline and
// backslash in mountinfo (\040, \011, \012, \134).
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1:i+4]) {
			n, _ := strconv.ParseUint(s[i+1:i+4], 8, 8)
			b.WriteByte(byte(n))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '7' {
			return false
		}
	}
	return len(s) == 3 && s[0] <= '3'
}

// mountAt returns the mount whose mount point is path, the one on top when
// several are stacked there: a mount over another has that other one as its
// parent, so the top is the one no other candidate names as parent. Among
// candidates that do not stack (only in odd propagation cases) the LAST one
// wins, since the table lists mounts in the order they were made.
func mountAt(table []mountEntry, path string) (mountEntry, bool) {
	var found []mountEntry
	for _, e := range table {
		if e.MountPoint == path {
			found = append(found, e)
		}
	}
	for i := len(found) - 1; i >= 0; i-- {
		if !slices.ContainsFunc(found, func(o mountEntry) bool { return o.Parent == found[i].ID }) {
			return found[i], true
		}
	}
	return mountEntry{}, false
}
