package main

// Lock-loss safety, zkfence next to etcdctl lock: the holder is cut from its
// coordination service by a TCP proxy that blackholes every byte (a network
// partition: no FIN, no RST), while a contender waits on a direct
// connection. The service expires the holder's session or lease and grants
// the lock to the contender. Did the holder's child die before the
// contender's child started?
//
// The holder's child writes a heartbeat every 10ms (bench/benchchild -hb):
// its last heartbeat is its death, to within 10ms. A violation is a heartbeat
// at or after the contender child's first instant: two children of one lock
// alive at once.

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/zkfence/zkfence/internal/zkserver"
)

// observe is how long the bench keeps watching a holder's child after the
// contender's child started, before it kills whatever is left.
const observe = 2 * time.Second

type safetyTrial struct {
	cutToDeath   time.Duration // cut -> holder child's last heartbeat
	cutToGrant   time.Duration // cut -> contender child's start
	margin       time.Duration // contender start - holder death (> 0: safe)
	survivedLong bool          // still alive `observe` after the contender started
}

func lockLossSafety(e *env) ([]row, error) {
	child, etcd, err := peerSetup()
	if err != nil {
		return nil, err
	}
	defer etcd.stop()
	var zk, et []safetyTrial
	for i := 0; i < *slowTrials; i++ {
		var wg sync.WaitGroup
		var zr, er safetyTrial
		var zkErr, etcdErr error
		wg.Add(2)
		go func() { defer wg.Done(); zr, zkErr = zkSafetyTrial(e, child, i) }()
		go func() { defer wg.Done(); er, etcdErr = etcdSafetyTrial(e, etcd, child, i) }()
		wg.Wait()
		if zkErr != nil {
			return nil, zkErr
		}
		if etcdErr != nil {
			return nil, etcdErr
		}
		zk, et = append(zk, zr), append(et, er)
	}
	return []row{
		safetyRow("zkfence", zk, "T 6s, tickTime 200ms, h 200ms, grace 500ms: the child must be dead by 3.73s after the last renewal"),
		safetyRow("etcdctl lock", et, fmt.Sprintf("etcd %s, --ttl %d", etcd.Version, etcdTTL)),
	}, nil
}

func safetyRow(who string, ts []safetyTrial, cond string) row {
	violations, long := 0, 0
	var margins, deaths, grants []time.Duration
	for _, t := range ts {
		if t.margin <= 0 {
			violations++
		}
		if t.survivedLong {
			long++
		}
		margins = append(margins, t.margin)
		deaths = append(deaths, t.cutToDeath)
		grants = append(grants, t.cutToGrant)
	}
	goal := "0"
	if who != "zkfence" {
		goal = "(peer)"
	}
	note := fmt.Sprintf("%d trials, holder blackholed; cut -> contender's child start median %s; ", len(ts), ms(median(grants)))
	if long > 0 {
		note += fmt.Sprintf("holder's child still running %s after the contender's started in %d of %d trials (never stopped by %s: the bench killed it); ",
			observe, long, len(ts), who)
	} else {
		note += fmt.Sprintf("cut -> holder's child dead median %s; holder child dead before the contender's started, margin min %s, median %s; ",
			ms(median(deaths)), ms(minimum(margins)), ms(median(margins)))
	}
	return row{"lock-loss safety: violations (both children alive), " + who, fmt.Sprintf("%d of %d", violations, len(ts)), goal, note + cond}
}

func zkSafetyTrial(e *env, child string, i int) (safetyTrial, error) {
	dir := filepath.Join(e.work, fmt.Sprintf("safety-zk-%d", i))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return safetyTrial{}, err
	}
	lockPath := fmt.Sprintf("/bench/safety-%d", i)
	proxy, err := zkserver.ListenProxy(e.zk.Addr())
	if err != nil {
		return safetyTrial{}, err
	}
	defer proxy.Close()
	a, err := startFenced(e.zkfence, proxy.Addr(), lockPath, fastFlags, child, "-start", dir+"/a-start", "-hb", dir+"/a-hb")
	if err != nil {
		return safetyTrial{}, err
	}
	defer a.killGroup()
	holder, err := holderChild(child, dir)
	if err != nil {
		return safetyTrial{}, err
	}
	defer holder.kill()
	b, err := startFenced(e.zkfence, e.zk.Addr(), lockPath, fastFlags, child, "-start", dir+"/b-start")
	if err != nil {
		return safetyTrial{}, err
	}
	defer b.killGroup()
	if _, _, err := b.waitMsg("waiting for the lock", 20*time.Second); err != nil {
		return safetyTrial{}, err
	}
	cut := time.Now()
	proxy.Blackhole()
	r, err := judge(dir, cut, holder)
	if err != nil {
		return r, err
	}
	// Cross-check with zkfence's own account: "child stopped" comes before
	// the contender's "lock acquired".
	if _, stopped, err := a.waitMsg("child stopped", time.Second); err == nil {
		if _, granted, err := b.waitMsg("lock acquired", time.Second); err == nil && !stopped.Before(granted) {
			r.margin = min(r.margin, granted.Sub(stopped))
		}
	}
	a.wait(15 * time.Second) // exits 90 after its release attempt times out
	b.stop(syscall.SIGTERM, 10*time.Second)
	return r, nil
}

func etcdSafetyTrial(e *env, etcd *etcdServer, child string, i int) (safetyTrial, error) {
	dir := filepath.Join(e.work, fmt.Sprintf("safety-etcd-%d", i))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return safetyTrial{}, err
	}
	name := fmt.Sprintf("/bench/safety-%d", i)
	proxy, err := zkserver.ListenProxy(etcd.Addr) // any TCP: etcd's gRPC too
	if err != nil {
		return safetyTrial{}, err
	}
	defer proxy.Close()
	a, err := startEtcdLock(proxy.Addr(), name, dir+"/a.log", child, "-start", dir+"/a-start", "-hb", dir+"/a-hb")
	if err != nil {
		return safetyTrial{}, err
	}
	defer a.killGroup()
	holder, err := holderChild(child, dir)
	if err != nil {
		return safetyTrial{}, err
	}
	defer holder.kill()
	b, err := startEtcdLock(etcd.Addr, name, dir+"/b.log", child, "-start", dir+"/b-start")
	if err != nil {
		return safetyTrial{}, err
	}
	defer b.killGroup()
	if err := waitEtcdQueued(etcd.Addr, name, 2, 20*time.Second); err != nil {
		return safetyTrial{}, err
	}
	cut := time.Now()
	proxy.Blackhole()
	return judge(dir, cut, holder)
}

// holderChild waits for the holder's child to start and returns it by its
// host pid: the pid in its stamp is the one it sees, which under the freeze
// guard counts in a PID namespace of its own (see hostpid.go).
func holderChild(child, dir string) (hostProc, error) {
	if _, _, err := readStamp(dir+"/a-start", 20*time.Second); err != nil {
		return hostProc{}, err
	}
	return findByMarker(child, dir+"/a-start", 5*time.Second)
}

// judge waits for the contender's child, watches the holder's child for
// `observe` more, and compares the holder child's last heartbeat with the
// contender child's start.
func judge(dir string, cut time.Time, holder hostProc) (safetyTrial, error) {
	start, _, err := readStamp(dir+"/b-start", 60*time.Second)
	if err != nil {
		return safetyTrial{}, err
	}
	for until := start.Add(observe); time.Now().Before(until) && holder.alive(); {
		time.Sleep(10 * time.Millisecond)
	}
	still := holder.alive()
	hb, err := readHeartbeat(dir + "/a-hb")
	if err != nil {
		return safetyTrial{}, err
	}
	return safetyTrial{
		cutToDeath:   hb.Sub(cut),
		cutToGrant:   start.Sub(cut),
		margin:       start.Sub(hb),
		survivedLong: still,
	}, nil
}
