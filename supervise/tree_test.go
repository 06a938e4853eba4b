package supervise

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestSetsidGrandchildStopped: the child leaves a grandchild that called
// setsid after a double fork, so it is in neither the child's process group
// nor its session. What each init does when told to stop (SIGTERM to the
// init, as docker stop does; for zkwrap also a lock loss):
//
//   - zkwrap: forwards SIGTERM to the group, the child dies, then Stop finds
//     the grandchild in the process table and stops it gracefully (it records
//     SIGTERM) before zkwrap exits 143 (or 90 on lock loss).
//   - tini (-s when not PID 1) signals only the child (with -g, its process
//     group); dumb-init signals the child's session, which is its process group
//     since the child is a session leader. Neither reaches the grandchild: it
//     never sees SIGTERM. As PID 1 it dies anyway, of the kernel's SIGKILL
//     when the namespace's init exits; not as PID 1 it survives the init — the
//     consul lock bug (#2022) this package must not have.
func TestSetsidGrandchildStopped(t *testing.T) {
	type want struct {
		code     int
		term     bool // the grandchild got SIGTERM
		survives bool // the grandchild outlives the init
	}
	cases := []struct {
		kind     initKind
		pid1     bool
		loseLock bool
		want     want
	}{
		{kindZkwrap, true, false, want{143, true, false}},
		{kindZkwrap, false, false, want{143, true, false}},
		{kindZkwrap, true, true, want{90, true, false}},
		{kindZkwrap, false, true, want{90, true, false}},
		{kindTini, true, false, want{143, false, false}},
		{kindTini, false, false, want{143, false, true}},
		{kindDumbInit, true, false, want{143, false, false}},
		{kindDumbInit, false, false, want{143, false, true}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/pid1=%v/lose-lock=%v", c.kind, c.pid1, c.loseLock), func(t *testing.T) {
			dir := t.TempDir()
			var flags []string
			if c.loseLock {
				flags = []string{"-lose-lock", dir + "/lost"}
			}
			r := startInit(t, c.kind, c.pid1, flags, "sh", scripts+"/setsid.sh", dir)
			waitFor(t, "the grandchild", func() bool { return exists(dir + "/ready") })
			gc := grandchildHostPid(t, r, dir)
			if c.loseLock {
				if err := os.WriteFile(dir+"/lost", nil, 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				r.signal(t, syscall.SIGTERM)
			}
			code := r.wait()
			got := want{code, exists(dir + "/gc.term"), alive(gc)}
			if got.survives {
				killAndReap(gc)
			}
			if !c.pid1 { // the child's orphans (its loop's sleep) may be ours now
				child, _ := strconv.Atoi(readFile(t, dir+"/ready"))
				reapGroup(child)
			}
			if got != c.want {
				t.Errorf("got %+v, want %+v; output:\n%s", got, c.want, r.out.String())
			}
		})
	}
}

// grandchildHostPid is the grandchild's pid as the test sees it: gc.pid holds
// it as seen in the init's namespace, so as PID 1 it is looked up among the
// descendants of unshare by its innermost pid (NSpid).
func grandchildHostPid(t *testing.T, r *initRun, dir string) int {
	t.Helper()
	nspid, err := strconv.Atoi(readFile(t, dir+"/gc.pid"))
	if err != nil {
		t.Fatal(err)
	}
	if !r.pid1 {
		return nspid
	}
	tree, err := scanTree(r.cmd.Process.Pid, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range tree {
		if innermostPid(p.pid) == nspid {
			return p.pid
		}
	}
	t.Fatalf("grandchild %d not found in the namespace", nspid)
	return 0
}

// innermostPid is the last NSpid field of /proc/PID/status.
func innermostPid(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "NSpid:"); ok {
			f := strings.Fields(rest)
			n, _ := strconv.Atoi(f[len(f)-1])
			return n
		}
	}
	return -1
}
