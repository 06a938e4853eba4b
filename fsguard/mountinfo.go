package fsguard

import (
	"fmt"
	"slices"
	"strings"

	"github.com/moby/sys/mountinfo"
)

// mountEntry is one entry of this process's mount table (proc(5)'s
// mountinfo, read and unescaped by github.com/moby/sys/mountinfo), with the
// option fields split:
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

// readMountinfo reads this process's mount table. Reading it never touches
// a mounted filesystem, so it cannot hang on one (unlike
// mountinfo.Mounted, which opens the path).
func readMountinfo() ([]mountEntry, error) {
	infos, err := mountinfo.GetMounts(nil)
	if err != nil {
		return nil, fmt.Errorf("read the mount table: %w", err)
	}
	return entriesOf(infos), nil
}

// entriesOf converts the library's entries.
func entriesOf(infos []*mountinfo.Info) []mountEntry {
	out := make([]mountEntry, 0, len(infos))
	for _, i := range infos {
		out = append(out, mountEntry{ID: i.ID, Parent: i.Parent, Major: uint32(i.Major), Minor: uint32(i.Minor),
			Root: i.Root, MountPoint: i.Mountpoint, Options: strings.Split(i.Options, ","), FSType: i.FSType,
			Source: i.Source, SuperOptions: strings.Split(i.VFSOptions, ",")})
	}
	return out
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
