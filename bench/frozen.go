package main

// The frozen holder: what matters is how long anything of the old holder
// runs after the thaw, while a contender already holds the lock.
//
// Each trial starts a holder (zkfence, --freeze-guard on or off, its child
// benchchild -spin) inside a cgroup of its own, lets a contender queue,
// freezes the holder's whole tree past its lease, waits until the
// contender's child started, thaws, and waits until every process of the
// cgroup is gone. The child stores CLOCK_MONOTONIC every ~100µs through a
// shared mapping; its last store minus the thaw instant is how long it ran
// after the thaw (0 when its last store came before the thaw). The cgroup
// lists host pids, so every pid the bench stops, continues or waits for is
// one of its own namespace.
//
// Two ways to freeze, one row each per guard setting:
//   - SIGSTOP of every process of the tree (`kill -STOP`; SIGKILL still ends
//     a stopped process, so the guard's timer kills the tree at D_kill);
//   - the cgroup freezer (`docker pause`): v1 here, where a frozen process
//     cannot die before the thaw; v2 where there is no v1 freezer.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zkfence/zkfence/internal/freezer"
)

// frozenFor is how long the holder stays frozen: past its lease (T 6s) and
// until the contender's child started.
const frozenFor = 30 * time.Second

type freezeWay struct {
	name   string
	cgroup bool // the cgroup freezer; else SIGSTOP
}

type frozenResult struct {
	afterThaw time.Duration // the child's last instant of running after the thaw (0: none)
	treeGone  time.Duration // thaw -> the cgroup empty
	killedAt  bool          // the tree was gone before the thaw
}

func frozenHolder(e *env) ([]row, error) {
	child, err := childBin()
	if err != nil {
		return nil, err
	}
	v2 := false
	if _, err := freezer.Mount(false); errors.Is(err, freezer.ErrNoHierarchy) {
		v2 = true
	}
	ways := []freezeWay{{"SIGSTOP", false}, {fmt.Sprintf("cgroup %s freezer", map[bool]string{false: "v1", true: "v2"}[v2]), true}}
	var rows []row
	for _, way := range ways {
		for _, guard := range []string{"on", "off"} {
			var rs []frozenResult
			for i := 0; i < *slowTrials; i++ {
				r, err := frozenTrial(e, child, way, v2, guard, len(rows)*100+i)
				if err != nil {
					return nil, fmt.Errorf("%s, guard %s, trial %d: %w", way.name, guard, i, err)
				}
				rs = append(rs, r)
			}
			rows = append(rows, frozenRow(way, guard, rs))
		}
	}
	return rows, nil
}

func frozenRow(way freezeWay, guard string, rs []frozenResult) row {
	var ran, gone []time.Duration
	n, before := 0, 0
	for _, r := range rs {
		ran, gone = append(ran, r.afterThaw), append(gone, r.treeGone)
		if r.afterThaw > 0 {
			n++
		}
		if r.killedAt {
			before++
		}
	}
	goal := "0 (none after the thaw)"
	switch {
	case guard == "off":
		goal = "(no guard: as short as possible)"
	case way.cgroup && !strings.Contains(way.name, "v2"):
		goal = "(v1: a frozen task dies only at the thaw; as short as possible)"
	}
	return row{fmt.Sprintf("frozen holder (%s), --freeze-guard %s: holder's child ran after the thaw, max", way.name, guard),
		ms(maximum(ran)), goal,
		fmt.Sprintf("median %s; it ran at all after %d of %d thaws; the old holder's whole tree (zkfence included) was gone before the thaw in %d of %d; thaw -> tree gone median %s; frozen until the contender's child started (T 6s); the child's own clock, every ~0.1ms",
			ms(median(ran)), n, len(rs), before, len(rs), ms(median(gone)))}
}

func frozenTrial(e *env, child string, way freezeWay, v2 bool, guard string, i int) (frozenResult, error) {
	dir := filepath.Join(e.work, fmt.Sprintf("frozen-%d", i))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return frozenResult{}, err
	}
	spin := filepath.Join(dir, "spin")
	if err := os.WriteFile(spin, make([]byte, 8), 0o644); err != nil {
		return frozenResult{}, err
	}
	cg, err := freezer.New(fmt.Sprintf("zkfence-bench-frozen-%d-%d", os.Getpid(), i), v2)
	if err != nil {
		return frozenResult{}, err
	}
	defer cg.Remove()
	lock := fmt.Sprintf("/bench/frozen-%d", i)
	flags := append(append([]string{}, fastFlags...), "--freeze-guard", guard)
	a, err := startFenced(e.zkfence, e.zk.Addr(), lock, flags, child, "-start", dir+"/a-start", "-spin", spin)
	if err != nil {
		return frozenResult{}, err
	}
	defer a.killGroup()
	if _, err := holderChild(child, dir); err != nil {
		return frozenResult{}, err
	}
	if err := cg.AddTree(a.pid()); err != nil {
		return frozenResult{}, err
	}
	b, err := startFenced(e.zkfence, e.zk.Addr(), lock, fastFlags, child, "-start", dir+"/b-start", "-sleep", "1h")
	if err != nil {
		return frozenResult{}, err
	}
	defer b.killGroup()
	if _, _, err := b.waitMsg("waiting for the lock", 20*time.Second); err != nil {
		return frozenResult{}, err
	}
	if err := freeze(cg, way, true); err != nil {
		return frozenResult{}, err
	}
	defer freeze(cg, way, false) // on an early return: a v1-frozen tree cannot die before its thaw
	_, _, grantErr := readStamp(dir+"/b-start", frozenFor)
	time.Sleep(time.Duration(i%5) * 100 * time.Millisecond) // vary the thaw
	var r frozenResult
	r.killedAt = len(cg.Procs()) == 0
	thaw := monotonic()
	if err := freeze(cg, way, false); err != nil {
		return r, err
	}
	if grantErr != nil {
		return r, grantErr
	}
	for len(cg.Procs()) > 0 {
		if time.Duration(monotonic()-thaw) > 20*time.Second {
			return r, fmt.Errorf("old holder's tree still running 20s after the thaw: %v", cg.Procs())
		}
		time.Sleep(time.Millisecond)
	}
	r.treeGone = time.Duration(monotonic() - thaw)
	if last, err := lastSpin(spin); err != nil {
		return r, err
	} else if last > thaw {
		r.afterThaw = time.Duration(last - thaw)
	}
	b.stop(syscall.SIGTERM, 10*time.Second)
	return r, nil
}

// freeze freezes (or thaws) every process of the cgroup.
func freeze(cg *freezer.Freezer, way freezeWay, on bool) error {
	if way.cgroup {
		if on {
			return cg.Freeze()
		}
		return cg.Thaw()
	}
	sig := map[bool]syscall.Signal{true: syscall.SIGSTOP, false: syscall.SIGCONT}[on]
	for _, pid := range cg.Procs() {
		syscall.Kill(pid, sig) // host pids: the bench reads its own namespace's view
	}
	return nil
}

// lastSpin reads the child's last CLOCK_MONOTONIC store.
func lastSpin(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 8 {
		return 0, fmt.Errorf("spin file %s: %v (%d bytes)", path, err, len(b))
	}
	return int64(binary.LittleEndian.Uint64(b)), nil
}

func monotonic() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}
