// Package freezer freezes and thaws a group of processes with the kernel's
// cgroup freezer, the mechanism behind docker pause, for tests of what a
// frozen wrapper can and cannot do. It makes one cgroup of its own under the
// cgroup v2 hierarchy (cgroup.freeze) or under the v1 freezer hierarchy
// (freezer.state), whichever is asked for, and needs root.
//
// The two differ in what matters here: a frozen process that gets SIGKILL
// dies while frozen under v2, and only at the thaw under v1.
package freezer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/moby/sys/mountinfo"
)

// ErrNoHierarchy is returned by New when the wanted hierarchy is not mounted.
var ErrNoHierarchy = errors.New("cgroup hierarchy not mounted")

// Freezer is one cgroup made by New.
type Freezer struct {
	Dir string
	V2  bool
}

// New makes a cgroup named name under the cgroup v2 hierarchy (v2) or the v1
// freezer hierarchy.
func New(name string, v2 bool) (*Freezer, error) {
	root, err := Mount(v2)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, name)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, err
	}
	return &Freezer{Dir: dir, V2: v2}, nil
}

// Mount finds where the cgroup v2 hierarchy, or the v1 freezer hierarchy, is
// mounted.
func Mount(v2 bool) (string, error) {
	m, err := mountinfo.GetMounts(func(i *mountinfo.Info) (skip, stop bool) {
		found := v2 && i.FSType == "cgroup2" ||
			!v2 && i.FSType == "cgroup" && strings.Contains(","+i.VFSOptions+",", ",freezer,")
		return !found, found
	})
	switch {
	case err != nil:
		return "", err
	case len(m) > 0:
		return m[0].Mountpoint, nil
	case v2:
		return "", fmt.Errorf("cgroup v2: %w", ErrNoHierarchy)
	default:
		return "", fmt.Errorf("cgroup v1 freezer: %w", ErrNoHierarchy)
	}
}

// Add moves pid (the whole process) into the cgroup; its children born
// after that are in it too.
func (f *Freezer) Add(pid int) error {
	return os.WriteFile(filepath.Join(f.Dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
}

// AddTree moves pid and every descendant into the cgroup, scanning again
// until a scan finds nothing new, so that a process forked during a move is
// not left out.
func (f *Freezer) AddTree(pid int) error {
	moved := map[int]bool{}
	for {
		tree, err := descendants(pid)
		if err != nil {
			return err
		}
		fresh := 0
		for _, p := range append([]int{pid}, tree...) {
			if moved[p] {
				continue
			}
			if err := f.Add(p); err != nil && !errors.Is(err, os.ErrNotExist) && !isESRCH(err) {
				return fmt.Errorf("move %d into %s: %w", p, f.Dir, err)
			}
			moved[p], fresh = true, fresh+1
		}
		if fresh == 0 {
			return nil
		}
	}
}

func isESRCH(err error) bool { return strings.Contains(err.Error(), "no such process") }

// descendants lists pid's descendants from /proc.
func descendants(pid int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	parent := map[int]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(data)
		rest := s[strings.LastIndexByte(s, ')')+2:]
		f := strings.Fields(rest)
		if len(f) < 2 {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		parent[p] = pp
	}
	var out []int
	for p := range parent {
		for a := parent[p]; a > 1; a = parent[a] {
			if a == pid {
				out = append(out, p)
				break
			}
		}
	}
	return out, nil
}

// Freeze freezes the cgroup and waits until every task of it is frozen. A
// task in an uninterruptible wait (on a FUSE daemon frozen in the same
// cgroup, say) is not counted as frozen until it leaves the wait: after 10 s
// Freeze returns an error, and the cgroup stays freezing.
func (f *Freezer) Freeze() error {
	if err := f.set(true); err != nil {
		return err
	}
	for deadline := time.Now().Add(10 * time.Second); !f.Frozen(); {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not every task frozen after 10s", f.Dir)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// Thaw thaws the cgroup.
func (f *Freezer) Thaw() error { return f.set(false) }

func (f *Freezer) set(frozen bool) error {
	if f.V2 {
		v := map[bool]string{true: "1", false: "0"}[frozen]
		return os.WriteFile(filepath.Join(f.Dir, "cgroup.freeze"), []byte(v), 0)
	}
	v := map[bool]string{true: "FROZEN", false: "THAWED"}[frozen]
	return os.WriteFile(filepath.Join(f.Dir, "freezer.state"), []byte(v), 0)
}

// Frozen reports whether the cgroup is frozen: under v2 every task of it,
// under v1 its state.
func (f *Freezer) Frozen() bool {
	if f.V2 {
		data, _ := os.ReadFile(filepath.Join(f.Dir, "cgroup.events"))
		return strings.Contains(string(data), "frozen 1")
	}
	data, _ := os.ReadFile(filepath.Join(f.Dir, "freezer.state"))
	return strings.TrimSpace(string(data)) == "FROZEN"
}

// Procs lists the pids in the cgroup.
func (f *Freezer) Procs() []int {
	data, _ := os.ReadFile(filepath.Join(f.Dir, "cgroup.procs"))
	var pids []int
	for _, s := range strings.Fields(string(data)) {
		if p, err := strconv.Atoi(s); err == nil {
			pids = append(pids, p)
		}
	}
	return pids
}

// Remove thaws the cgroup and removes it once its processes are gone,
// trying for up to 5 s.
func (f *Freezer) Remove() error {
	_ = f.Thaw()
	var err error
	for i := 0; i < 100; i++ {
		if err = os.Remove(f.Dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("remove %s: %w", f.Dir, err)
}
