// Command benchchild is the child that make bench runs under zkfence, under
// etcdctl lock, under tini and dumb-init, and directly. It records the
// instants that matter itself, on CLOCK_REALTIME (comparable across
// processes on one machine), in files the bench reads:
//
//	benchchild [-start FILE] [-hb FILE] [-spin FILE] [-until FILE] [-end FILE] [-sleep D]
//
//	-start FILE  first thing in main: write "<unix ns> <pid>\n" (atomically: temp file + rename)
//	-hb FILE     every 10ms, overwrite FILE with "<unix ns>\n" (fixed width): a heartbeat whose
//	             last value is the child's death to within 10ms
//	-spin FILE   every ~100µs, store CLOCK_MONOTONIC (ns, 8 bytes little-endian) at the start
//	             of FILE, through a shared mapping: the last value is the child's last instant
//	             of running user-space code, to within ~0.2ms (the freeze measurements)
//	-until FILE  run until FILE exists (polled every millisecond)
//	-sleep D     run for D (0: no limit unless -until is given)
//	-end FILE    last thing before exiting: write "<unix ns> <pid>\n"
//
// It exits 0 by itself, or dies of whatever signal it gets (default
// dispositions). Without -until and -sleep it exits right after -start,
// unless it heartbeats (-hb): then it runs until killed.
//
// It is a separate, small, static program so that its own start-up is short
// and the same under every wrapper; the bench also measures it exec'd
// directly and subtracts that.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	now := time.Now()
	start := flag.String("start", "", "write the start instant and pid here")
	hb := flag.String("hb", "", "heartbeat file, rewritten every 10ms")
	spinFile := flag.String("spin", "", "store CLOCK_MONOTONIC here every ~100µs")
	until := flag.String("until", "", "exit once this file exists")
	sleep := flag.Duration("sleep", 0, "exit after this long")
	end := flag.String("end", "", "write the exit instant and pid here")
	flag.Parse()
	if *start != "" {
		stamp(*start, now)
	}
	if *hb != "" {
		go heartbeat(*hb)
	}
	if *spinFile != "" {
		go spin(*spinFile)
	}
	var deadline <-chan time.Time
	if *sleep > 0 {
		deadline = time.After(*sleep)
	}
	var poll <-chan time.Time
	if *until != "" {
		poll = time.NewTicker(time.Millisecond).C
	}
	if *until != "" || *sleep > 0 || *hb != "" || *spinFile != "" {
	wait:
		for {
			select {
			case <-deadline:
				break wait
			case <-poll:
				if _, err := os.Stat(*until); err == nil {
					break wait
				}
			}
		}
	}
	if *end != "" {
		stamp(*end, time.Now())
	}
}

// stamp writes "<ns> <pid>\n" to path atomically.
func stamp(path string, t time.Time) {
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	if err := os.WriteFile(tmp, fmt.Appendf(nil, "%d %d\n", t.UnixNano(), os.Getpid()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "benchchild:", err)
		os.Exit(1)
	}
	if err := os.Rename(tmp, path); err != nil {
		fmt.Fprintln(os.Stderr, "benchchild:", err)
		os.Exit(1)
	}
}

// heartbeat overwrites path with the current instant every 10ms, in place
// and fixed width, so that a reader sees either the old or the new value.
func heartbeat(path string) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchchild:", err)
		os.Exit(1)
	}
	t := time.NewTicker(10 * time.Millisecond)
	for {
		f.WriteAt(fmt.Appendf(nil, "%020d\n", time.Now().UnixNano()), 0)
		<-t.C
	}
}

// spin stores CLOCK_MONOTONIC into the first 8 bytes of path (created by the
// bench, at least 8 bytes long) through a shared mapping, then sleeps
// ~100µs, forever: a store to shared memory costs no system call, and the
// sleep keeps the CPU it uses small.
func spin(path string) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchchild:", err)
		os.Exit(1)
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, 8, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchchild: mmap:", err)
		os.Exit(1)
	}
	runtime.LockOSThread()
	nap := unix.Timespec{Nsec: 100_000}
	for {
		var ts unix.Timespec
		_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
		binary.LittleEndian.PutUint64(mem, uint64(ts.Nano()))
		_ = unix.Nanosleep(&nap, nil)
	}
}
