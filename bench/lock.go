package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/zkfence/zkfence/internal/zkserver"
)

// handoffOnExit: the holder's child exits by itself; how long until the
// waiter's child runs? From the holder child's last instant to the waiter
// child's first, both written by the children themselves.
func handoffOnExit(e *env) ([]row, error) {
	var gaps []time.Duration
	for i := 0; i < e.trials; i++ {
		dir := filepath.Join(e.work, fmt.Sprintf("handoff-%d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		lock := fmt.Sprintf("/bench/handoff-%d", i)
		env := []string{"DIR=" + dir}
		a, err := startWrapper(e.zkfence, e.zk.Addr(), lock, env, "sh", "-c",
			`while [ ! -e "$DIR/go" ]; do sleep 0.01; done; date +%s%N > "$DIR/a-end"`)
		if err != nil {
			return nil, err
		}
		if _, err := a.waitLog("child started", 20*time.Second); err != nil {
			return nil, err
		}
		b, err := startWrapper(e.zkfence, e.zk.Addr(), lock, env, "sh", "-c", `date +%s%N > "$DIR/b-start"`)
		if err != nil {
			return nil, err
		}
		if _, err := b.waitLog("waiting for the lock", 20*time.Second); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o644); err != nil {
			return nil, err
		}
		end, err := readNanos(filepath.Join(dir, "a-end"), 10*time.Second)
		if err != nil {
			return nil, err
		}
		start, err := readNanos(filepath.Join(dir, "b-start"), 10*time.Second)
		if err != nil {
			return nil, err
		}
		<-a.done
		<-b.done
		gaps = append(gaps, start.Sub(end))
	}
	return []row{
		{"handoff on clean child exit, median", ms(median(gaps)), "< 1s", fmt.Sprintf("max %s; holder child's exit -> waiter child's start", ms(maximum(gaps)))},
	}, nil
}

// cutConnection: the holder is blackholed from ZooKeeper (a TCP proxy drops
// every byte). Its child must be dead before ZooKeeper grants the lock to
// the contender. Margin = grant - confirmed death; it must be positive.
func cutConnection(e *env) ([]row, error) {
	var margins, deaths []time.Duration
	guardKills := 0
	for i := 0; i < e.trials; i++ {
		lock := fmt.Sprintf("/bench/cut-%d", i)
		proxy, err := zkserver.ListenProxy(e.zk.Addr())
		if err != nil {
			return nil, err
		}
		a, err := startWrapper(e.zkfence, proxy.Addr(), lock, nil, "sleep", "3600")
		if err != nil {
			return nil, err
		}
		if _, err := a.waitLog("child started", 20*time.Second); err != nil {
			return nil, err
		}
		b, err := startWrapper(e.zkfence, e.zk.Addr(), lock, nil, "sleep", "3600")
		if err != nil {
			return nil, err
		}
		if _, err := b.waitLog("waiting for the lock", 20*time.Second); err != nil {
			return nil, err
		}
		proxy.Blackhole()
		cut := time.Now()
		dead, byGuard, err := a.childDeath(30 * time.Second)
		if err != nil {
			return nil, err
		}
		if byGuard {
			guardKills++
		}
		granted, err := b.waitLog("lock acquired", 30*time.Second)
		if err != nil {
			return nil, err
		}
		margins = append(margins, granted.Sub(dead))
		deaths = append(deaths, dead.Sub(cut))
		<-a.done
		b.stop()
		proxy.Close()
	}
	violations := 0
	for _, m := range margins {
		if m <= 0 {
			violations++
		}
	}
	return []row{
		{"cut connection: holder's child dead before contender granted, min margin", ms(minimum(margins)), "> 0 in every trial",
			fmt.Sprintf("%d violations in %d trials; median margin %s; in %d trials zkfence could not stop the child in time (machine load) and the freeze guard's kernel timer killed it and the child's namespace at D_kill: death counted at zkfence's exit",
				violations, len(margins), ms(median(margins)), guardKills)},
		{"cut connection: cut -> holder's child confirmed dead, median", ms(median(deaths)), "< KillBy 3.73s",
			fmt.Sprintf("max %s; T 6s, tickTime 200ms, syncLimit 2, h 200ms, K 1.5s", ms(maximum(deaths)))},
	}, nil
}
