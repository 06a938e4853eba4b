package main

// zkfence next to `etcdctl lock`, the lock-then-exec that Debian ships:
// handoff when the holder's child exits, and handoff when the holder's node
// dies. Both run the same child (bench/benchchild) and the same session
// timeout (zkfence T 6s, etcdctl --ttl 6); trials alternate which goes first.

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

var slowTrials = flag.Int("slow-trials", 8, "trials for the measurements bounded by a session timeout (node death, lock-loss safety)")

// handoffPeers: the holder's child exits by itself; from its last instant to
// the waiter's child's first, for zkfence and for etcdctl lock.
func handoffPeers(e *env) ([]row, error) {
	child, etcd, err := peerSetup()
	if err != nil {
		return nil, err
	}
	defer etcd.stop()
	var zkGaps, etcdGaps []time.Duration
	var parts [3][]time.Duration
	for i := 0; i < e.trials; i++ {
		zkTrial := func() error {
			d, p, err := zkHandoffTrial(e, child, i)
			zkGaps = append(zkGaps, d)
			for k := range p {
				parts[k] = append(parts[k], p[k])
			}
			return err
		}
		etcdTrial := func() error {
			d, err := etcdHandoffTrial(e, etcd, child, i)
			etcdGaps = append(etcdGaps, d)
			return err
		}
		first, second := zkTrial, etcdTrial
		if i%2 == 1 {
			first, second = etcdTrial, zkTrial
		}
		if err := first(); err != nil {
			return nil, err
		}
		if err := second(); err != nil {
			return nil, err
		}
	}
	cond := fmt.Sprintf("%d trials, alternating; same child; holder child's exit stamp -> waiter child's start stamp", e.trials)
	return []row{
		{"handoff on clean child exit, zkfence, median", ms(median(zkGaps)), "< 1s",
			fmt.Sprintf("max %s; %s; T 6s; medians from zkfence's log: child's exit -> holder logs \"child exited\" %s (reap, then the leftover-tree check), -> waiter logs \"lock acquired\" %s (tree confirmed gone: two /proc scans; delete; watch; getChildren; exists), -> waiter's child runs %s",
				ms(maximum(zkGaps)), cond, ms(median(parts[0])), ms(median(parts[1])), ms(median(parts[2])))},
		{"handoff on clean child exit, etcdctl lock, median", ms(median(etcdGaps)), "(peer)",
			fmt.Sprintf("max %s; etcd %s, --ttl %d; zkfence/etcdctl median ratio %.2f", ms(maximum(etcdGaps)), etcd.Version, etcdTTL,
				float64(median(zkGaps))/float64(median(etcdGaps)))},
	}, nil
}

// zkHandoffTrial also returns the parts of the gap, from zkfence's log:
// child's exit -> "child exited" (holder), -> "lock acquired" (waiter), ->
// the waiter's child's start.
func zkHandoffTrial(e *env, child string, i int) (time.Duration, [3]time.Duration, error) {
	var parts [3]time.Duration
	gap, a, b, err := zkHandoff(e, child, i)
	if err != nil {
		return 0, parts, err
	}
	_, exited, err1 := a.waitMsg("child exited", time.Second)
	_, acquired, err2 := b.waitMsg("lock acquired", time.Second)
	if err := errors.Join(err1, err2); err != nil {
		return 0, parts, err
	}
	dir := filepath.Join(e.work, fmt.Sprintf("peer-handoff-zk-%d", i))
	end, _, _ := readStamp(dir+"/a-end", time.Second)
	start, _, _ := readStamp(dir+"/b-start", time.Second)
	parts = [3]time.Duration{exited.Sub(end), acquired.Sub(exited), start.Sub(acquired)}
	return gap, parts, nil
}

func zkHandoff(e *env, child string, i int) (_ time.Duration, a, b *fenced, err error) {
	dir := filepath.Join(e.work, fmt.Sprintf("peer-handoff-zk-%d", i))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, nil, nil, err
	}
	lockPath := fmt.Sprintf("/bench/peer-handoff-%d", i)
	a, err = startFenced(e.zkfence, e.zk.Addr(), lockPath, fastFlags, child,
		"-start", dir+"/a-start", "-until", dir+"/go", "-end", dir+"/a-end")
	if err != nil {
		return 0, nil, nil, err
	}
	defer a.killGroup()
	if _, _, err := readStamp(dir+"/a-start", 20*time.Second); err != nil {
		return 0, nil, nil, err
	}
	b, err = startFenced(e.zkfence, e.zk.Addr(), lockPath, fastFlags, child, "-start", dir+"/b-start")
	if err != nil {
		return 0, nil, nil, err
	}
	defer b.killGroup()
	if _, _, err := b.waitMsg("waiting for the lock", 20*time.Second); err != nil {
		return 0, nil, nil, err
	}
	gap, err := handoffGap(dir, a.proc, b.proc)
	return gap, a, b, err
}

func etcdHandoffTrial(e *env, etcd *etcdServer, child string, i int) (time.Duration, error) {
	dir := filepath.Join(e.work, fmt.Sprintf("peer-handoff-etcd-%d", i))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	name := fmt.Sprintf("/bench/peer-handoff-%d", i)
	a, err := startEtcdLock(etcd.Addr, name, dir+"/a.log", child,
		"-start", dir+"/a-start", "-until", dir+"/go", "-end", dir+"/a-end")
	if err != nil {
		return 0, err
	}
	defer a.killGroup()
	if _, _, err := readStamp(dir+"/a-start", 20*time.Second); err != nil {
		return 0, err
	}
	b, err := startEtcdLock(etcd.Addr, name, dir+"/b.log", child, "-start", dir+"/b-start")
	if err != nil {
		return 0, err
	}
	defer b.killGroup()
	if err := waitEtcdQueued(etcd.Addr, name, 2, 20*time.Second); err != nil {
		return 0, err
	}
	return handoffGap(dir, a, b)
}

// handoffGap lets the holder's child exit and measures until the waiter's
// child starts; both wrappers must then exit by themselves.
func handoffGap(dir string, a, b *proc) (time.Duration, error) {
	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o644); err != nil {
		return 0, err
	}
	end, _, err := readStamp(dir+"/a-end", 10*time.Second)
	if err != nil {
		return 0, err
	}
	start, _, err := readStamp(dir+"/b-start", 20*time.Second)
	if err != nil {
		return 0, err
	}
	if !a.wait(10*time.Second) || !b.wait(10*time.Second) {
		return 0, fmt.Errorf("%s: a wrapper did not exit after its child did", dir)
	}
	return start.Sub(end), nil
}

// nodeDeathPeers: the holder's node dies: its wrapper and the child are
// SIGKILLed at one instant, and nothing tells the coordination service. The
// contender's child starts once the holder's session (ZooKeeper) or lease
// (etcd) expires: the floor is the session timeout, and the figure is its
// ratio to it. zkfence and etcdctl trials run side by side.
func nodeDeathPeers(e *env) ([]row, error) {
	child, etcd, err := peerSetup()
	if err != nil {
		return nil, err
	}
	defer etcd.stop()
	var zkD, etcdD []time.Duration
	var zkT time.Duration
	for i := 0; i < *slowTrials; i++ {
		var wg sync.WaitGroup
		var zkErr, etcdErr error
		var zd, ed time.Duration
		// A node dies at any moment: spread the kill over etcd's keep-alive
		// period (TTL/3) instead of always just after the lock was granted,
		// when etcdctl has just renewed its lease.
		pause := 300*time.Millisecond + time.Duration(i)*etcdTTL*time.Second/3/time.Duration(*slowTrials)
		wg.Add(2)
		go func() { defer wg.Done(); zd, zkT, zkErr = zkNodeDeathTrial(e, child, i, pause) }()
		go func() { defer wg.Done(); ed, etcdErr = etcdNodeDeathTrial(e, etcd, child, i, pause) }()
		wg.Wait()
		if zkErr != nil {
			return nil, zkErr
		}
		if etcdErr != nil {
			return nil, etcdErr
		}
		zkD, etcdD = append(zkD, zd), append(etcdD, ed)
	}
	ratio := func(d, t time.Duration) string { return fmt.Sprintf("%.2fx", float64(d)/float64(t)) }
	cond := fmt.Sprintf("%d trials, side by side; wrapper and child SIGKILLed at once, 0.3s to 2.3s after the contender queued (spread over etcd's keep-alive period) -> contender's child starts", *slowTrials)
	return []row{
		{"node death: handoff / session timeout, zkfence, median", ratio(median(zkD), zkT), "<= 1.2x",
			fmt.Sprintf("median %s, max %s (%s) against negotiated T %s (ZooKeeper expires a session T after it last heard from it, rounded up to a tick; zkfence renews every 200ms); %s",
				ms(median(zkD)), ms(maximum(zkD)), ratio(maximum(zkD), zkT), zkT, cond)},
		{"node death: handoff / lease TTL, etcdctl lock, median", ratio(median(etcdD), etcdTTL*time.Second), "(peer)",
			fmt.Sprintf("median %s, min %s, max %s (%s) against --ttl %ds (etcdctl renews its lease every TTL/3, so it expires 2/3 TTL to TTL after death, plus etcd's 500ms expiry scan)",
				ms(median(etcdD)), ms(minimum(etcdD)), ms(maximum(etcdD)), ratio(maximum(etcdD), etcdTTL*time.Second), etcdTTL)},
	}, nil
}

func zkNodeDeathTrial(e *env, child string, i int, pause time.Duration) (time.Duration, time.Duration, error) {
	dir := filepath.Join(e.work, fmt.Sprintf("death-zk-%d", i))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, 0, err
	}
	lockPath := fmt.Sprintf("/bench/death-%d", i)
	a, err := startFenced(e.zkfence, e.zk.Addr(), lockPath, fastFlags, child, "-start", dir+"/a-start", "-hb", dir+"/a-hb")
	if err != nil {
		return 0, 0, err
	}
	defer a.killGroup()
	holder, err := holderChild(child, dir)
	if err != nil {
		return 0, 0, err
	}
	t, err := a.negotiated()
	if err != nil {
		return 0, 0, err
	}
	b, err := startFenced(e.zkfence, e.zk.Addr(), lockPath, fastFlags, child, "-start", dir+"/b-start")
	if err != nil {
		return 0, 0, err
	}
	defer b.killGroup()
	if _, _, err := b.waitMsg("waiting for the lock", 20*time.Second); err != nil {
		return 0, 0, err
	}
	time.Sleep(pause)
	// The node dies: zkfence and its child (in its own process group) at once.
	killed := time.Now()
	syscall.Kill(a.pid(), syscall.SIGKILL)
	holder.kill()
	start, _, err := readStamp(dir+"/b-start", 5*t)
	if err != nil {
		return 0, 0, err
	}
	b.wait(10 * time.Second) // its child exits at once; it releases
	return start.Sub(killed), t, nil
}

func etcdNodeDeathTrial(e *env, etcd *etcdServer, child string, i int, pause time.Duration) (time.Duration, error) {
	dir := filepath.Join(e.work, fmt.Sprintf("death-etcd-%d", i))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	name := fmt.Sprintf("/bench/death-%d", i)
	a, err := startEtcdLock(etcd.Addr, name, dir+"/a.log", child, "-start", dir+"/a-start", "-hb", dir+"/a-hb")
	if err != nil {
		return 0, err
	}
	defer a.killGroup()
	if _, _, err := readStamp(dir+"/a-start", 20*time.Second); err != nil {
		return 0, err
	}
	b, err := startEtcdLock(etcd.Addr, name, dir+"/b.log", child, "-start", dir+"/b-start")
	if err != nil {
		return 0, err
	}
	defer b.killGroup()
	if err := waitEtcdQueued(etcd.Addr, name, 2, 20*time.Second); err != nil {
		return 0, err
	}
	time.Sleep(pause)
	killed := time.Now()
	syscall.Kill(-a.pid(), syscall.SIGKILL) // etcdctl and its child share a process group
	start, _, err := readStamp(dir+"/b-start", 5*etcdTTL*time.Second)
	if err != nil {
		return 0, err
	}
	b.wait(10 * time.Second)
	return start.Sub(killed), nil
}
