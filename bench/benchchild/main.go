// Command benchchild is the child that make bench runs under zkfence, under
// etcdctl lock, under tini and dumb-init, and directly. It records the
// instants that matter itself, on CLOCK_REALTIME (comparable across
// processes on one machine), in files the bench reads:
//
//	benchchild [-start FILE] [-hb FILE] [-until FILE] [-end FILE] [-sleep D]
//
//	-start FILE  first thing in main: write "<unix ns> <pid>\n" (atomically: temp file + rename)
//	-hb FILE     every 10ms, overwrite FILE with "<unix ns>\n" (fixed width): a heartbeat whose
//	             last value is the child's death to within 10ms
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
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	now := time.Now()
	start := flag.String("start", "", "write the start instant and pid here")
	hb := flag.String("hb", "", "heartbeat file, rewritten every 10ms")
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
	var deadline <-chan time.Time
	if *sleep > 0 {
		deadline = time.After(*sleep)
	}
	var poll <-chan time.Time
	if *until != "" {
		poll = time.NewTicker(time.Millisecond).C
	}
	if *until != "" || *sleep > 0 || *hb != "" {
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
