package main

// Scale: many contenders on one lock against one ZooKeeper, built from the
// package zkfence itself uses (lock: Dial, Acquire, NewLease, Release), each
// with its own session, in this process. Each holder holds briefly, releases
// (deletes its node, closes its session, as zkfence does when its child
// exits) and queues again at the tail with a new session, as a restarted
// wrapper would. Measured:
//
//   - requests per second on ZooKeeper (mntr zk_packets_received), first with
//     everyone queued and nobody releasing (sessions' pings alone), then at
//     steady churn; the difference per release is the lock recipe's cost;
//   - wake-ups per release, counted by the clients: a waiter is woken when
//     the one node it watches goes (the lock recipe then calls OnWait again,
//     or returns the lock). Without a herd that is one per release;
//   - the server's side: its watch table while everyone waits (wchs, wchp),
//     and the watchers it fired per deleted node and per children change
//     (mntr's node_deleted_watch_count and node_children_watch_count).

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/zkfence/zkfence/internal/clock"
	"github.com/zkfence/zkfence/lock"
)

var (
	scaleClients = flag.Int("scale-clients", 1000, "scale: lock clients (one session each)")
	scaleTime    = flag.Duration("scale-time", 20*time.Second, "scale: steady-state window")
	scaleHold    = flag.Duration("scale-hold", 10*time.Millisecond, "scale: how long each holder holds the lock")
)

const scaleT = 10 * time.Second // session timeout: the bench server's maximum

type scaleCounters struct {
	joined   atomic.Int64 // clients in line or holding, first time
	wakeups  atomic.Int64 // a waiter woken because the node it watched went
	releases atomic.Int64
	acquired atomic.Int64
	errors   atomic.Int64
}

func scale(e *env) ([]row, error) {
	n := *scaleClients
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < uint64(n+1000) {
		lim.Cur = min(lim.Max, uint64(n+1000))
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	servers, _, err := lock.ParseConnectString(e.zk.Addr())
	if err != nil {
		return nil, err
	}
	cfg := lock.SessionConfig{Servers: servers, SessionTimeout: scaleT, Logger: slog.New(slog.DiscardHandler)}
	budget := lock.Budget{TickTime: 200 * time.Millisecond, SyncLimit: 2, Heartbeat: time.Second, ClockDrift: 0.01, StopTime: 2 * time.Second}
	data := lock.Self("bench").Encode()
	const lockPath = "/bench/scale"

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	churn := make(chan struct{})
	var c scaleCounters
	dialSlots := make(chan struct{}, 50) // do not open 1,000 connections in one burst
	var wg sync.WaitGroup
	client := func() {
		defer wg.Done()
		first := true
		for ctx.Err() == nil {
			dialSlots <- struct{}{}
			dctx, dcancel := context.WithTimeout(ctx, 30*time.Second)
			sess, err := lock.Dial(dctx, cfg)
			dcancel()
			<-dialSlots
			if err != nil {
				if ctx.Err() == nil {
					c.errors.Add(1)
				}
				continue
			}
			waits := 0
			held, err := sess.Acquire(ctx, lock.AcquireOptions{Path: lockPath, Data: data, OnWait: func(lock.Waiting) {
				waits++
				if waits == 1 && first {
					c.joined.Add(1)
				}
				if waits > 1 {
					c.wakeups.Add(1) // woken, and still not first
				}
			}})
			if err != nil {
				sess.Close()
				if ctx.Err() == nil {
					c.errors.Add(1)
				}
				continue
			}
			if waits == 0 && first {
				c.joined.Add(1)
			}
			if waits > 0 {
				c.wakeups.Add(1) // woken, and now first
			}
			first = false
			c.acquired.Add(1)
			lease, err := sess.NewLease(held, lock.LeaseOptions{Budget: budget, Clock: clock.Real{}, Start: held.Confirmed})
			if err != nil { // the bench's budget is fixed: a refusal is a bug here
				panic(err)
			}
			select {
			case <-churn:
			case <-ctx.Done():
			}
			select {
			case <-time.After(*scaleHold):
			case <-ctx.Done():
			}
			rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := sess.Release(rctx, lease); err != nil {
				c.errors.Add(1)
			} else {
				c.releases.Add(1)
			}
			rcancel()
		}
	}
	started := time.Now()
	for range n {
		wg.Add(1)
		go client()
	}
	defer func() {
		cancel()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
		}
	}()
	// Everyone in line.
	for c.joined.Load() < int64(n) {
		if time.Since(started) > 3*time.Minute {
			return nil, fmt.Errorf("scale: only %d of %d clients in line after 3 minutes (%d errors)", c.joined.Load(), n, c.errors.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	joinTime := time.Since(started)
	time.Sleep(2 * time.Second) // let the joins' requests drain
	// Idle: everyone waits, nobody releases.
	m0, err := mntr(e)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	// A whole number of ping periods (T/3): the sessions joined within a
	// second or two, so their pings are in phase and a shorter window would
	// alias.
	time.Sleep(scaleT)
	m1, err := mntr(e)
	if err != nil {
		return nil, err
	}
	idleRate := (m1["zk_packets_received"] - m0["zk_packets_received"]) / time.Since(t0).Seconds()
	watches, err := watchTable(e)
	if err != nil {
		return nil, err
	}
	// Churn.
	close(churn)
	time.Sleep(3 * time.Second) // warm-up
	r0, w0 := c.releases.Load(), c.wakeups.Load()
	m2, err := mntr(e)
	if err != nil {
		return nil, err
	}
	t2 := time.Now()
	time.Sleep(*scaleTime)
	m3, err := mntr(e)
	if err != nil {
		return nil, err
	}
	window := time.Since(t2).Seconds()
	r1, w1 := c.releases.Load(), c.wakeups.Load()
	releases := float64(r1 - r0)
	if releases == 0 {
		return nil, fmt.Errorf("scale: no releases in %v (%d errors)", *scaleTime, c.errors.Load())
	}
	busyRate := (m3["zk_packets_received"] - m2["zk_packets_received"]) / window
	deletedFired := delta(m2, m3, "node_deleted_watch_count", "sum")
	deletedEvents := delta(m2, m3, "node_deleted_watch_count", "cnt")
	childrenFired := delta(m2, m3, "node_children_watch_count", "sum")
	wakePerRelease := float64(w1-w0) / releases

	cond := fmt.Sprintf("%d clients (one session each, T %s) from package lock in one process, one lock, one standalone ZooKeeper 3.8; hold %s, then release and queue again with a new session; %d releases in %.0fs (%.1f/s); all in line after %s",
		n, scaleT, *scaleHold, r1-r0, window, releases/window, joinTime.Round(100*time.Millisecond))
	return []row{
		{"scale: requests/s on ZooKeeper at steady state", fmt.Sprintf("%.0f/s", busyRate), "(report)",
			fmt.Sprintf("with everyone in line and nobody releasing %.0f/s (a ping per session every T/3, over %s); so %.1f requests per release (delete, close session, new session, queue: create x3, getChildren, getData+watch; the successor: getChildren, exists, exists+watch, renewals); %s",
				idleRate, scaleT, (busyRate-idleRate)*window/releases, cond)},
		{"scale: wake-ups per release (waiters woken)", fmt.Sprintf("%.3f", wakePerRelease), "1 (no herd)",
			fmt.Sprintf("%d wake-ups for %d releases, counted by the clients; server: %s; per deleted node it fired %.2f watchers (%.0f events: the successor + the releasing holder's own lease watch on its node), children watches fired %.0f; %d client errors",
				w1-w0, r1-r0, watches, ratio(deletedFired, deletedEvents), deletedEvents, childrenFired, c.errors.Load())},
	}, nil
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

var mntrLine = regexp.MustCompile(`^(zk_\S+)\s+(-?[0-9.]+)$`)

// mntr reads the server's numeric mntr values.
func mntr(e *env) (map[string]float64, error) {
	out, err := e.zk.FourLetter("mntr")
	if err != nil {
		return nil, err
	}
	m := map[string]float64{}
	for _, l := range strings.Split(out, "\n") {
		if g := mntrLine.FindStringSubmatch(strings.TrimSpace(l)); g != nil {
			m[g[1]], _ = strconv.ParseFloat(g[2], 64)
		}
	}
	if _, ok := m["zk_packets_received"]; !ok {
		return nil, fmt.Errorf("mntr: no zk_packets_received in %q", tail(out, 5))
	}
	return m, nil
}

// delta finds a summary's field (sum, cnt) under either of ZooKeeper's
// spellings (zk_sum_NAME, zk_NAME_sum) and returns its change.
func delta(a, b map[string]float64, name, field string) float64 {
	for _, k := range []string{"zk_" + field + "_" + name, "zk_" + name + "_" + field} {
		if v, ok := b[k]; ok {
			return v - a[k]
		}
	}
	return -1
}

// watchTable summarizes the server's watches: wchs's totals, and from wchp
// how many watchers each watched path has.
func watchTable(e *env) (string, error) {
	wchs, err := e.zk.FourLetter("wchs")
	if err != nil {
		return "", err
	}
	wchp, err := e.zk.FourLetter("wchp")
	if err != nil {
		return "", err
	}
	per := map[string]int{}
	path := ""
	for _, l := range strings.Split(wchp, "\n") {
		switch {
		case strings.HasPrefix(l, "/"):
			path = strings.TrimSpace(l)
			per[path] += 0
		case strings.TrimSpace(l) != "" && path != "":
			per[path]++
		}
	}
	hist := map[int]int{}
	maxW := 0
	for _, w := range per {
		hist[w]++
		maxW = max(maxW, w)
	}
	var parts []string
	for w := 1; w <= maxW; w++ {
		if hist[w] > 0 {
			parts = append(parts, fmt.Sprintf("%d paths with %d", hist[w], w))
		}
	}
	return fmt.Sprintf("while all wait, wchs says %q; watchers per watched path (wchp): %s",
		strings.Join(strings.Fields(wchs), " "), strings.Join(parts, ", ")), nil
}
