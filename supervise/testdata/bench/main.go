// Command bench measures what an init costs while its child runs: zkwrap
// (built on package supervise), Debian's tini and dumb-init, each running the
// same child (sleep 10 by default), as PID 1 of a new PID namespace and as a
// plain process. It samples the init every 100 ms: /proc/PID/status (VmHWM:
// peak RSS; VmRSS), /proc/PID/stat (utime+stime, in 10 ms ticks), and for
// every thread /proc/PID/task/TID/sched (se.sum_exec_runtime, precise to the
// microsecond: idle CPU is far below a tick) and the context switches (a
// wake-up count); then it prints a table. It asserts nothing: it is a
// measurement, run by hand or by make bench.
//
//	go run ./supervise/testdata/bench [-sleep 10s] [-zkwrap PATH] [-modes pid1,plain] [-seq] [-md]
//
// Without -zkwrap it builds supervise/testdata/zkwrap (no -race) first. Runs
// go side by side unless -seq; the wrappers are idle, so they do not disturb
// each other's numbers. Needs root (unshare) and /usr/bin/{tini,dumb-init}.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// warmup is excluded from the idle window: start-up, the child's exec.
const warmup = time.Second

const clockTick = 10 * time.Millisecond // USER_HZ is 100 on Linux

type result struct {
	init, mode   string
	hwmKB, rssKB int
	anonKB       int           // RssAnon: private memory (the rest is the shared, reclaimable binary)
	ticks        time.Duration // utime+stime at the last sample
	cpuTotal     time.Duration // sum_exec_runtime at the last sample
	cpuIdle      time.Duration // sum_exec_runtime over [warmup, last sample]
	window       time.Duration
	switches     int // voluntary+involuntary, all threads, over the window
	exitCode     int
	err          error
}

func main() {
	sleep := flag.Duration("sleep", 10*time.Second, "how long the child sleeps")
	zk := flag.String("zkwrap", "", "path of a built zkwrap (default: build it)")
	modes := flag.String("modes", "pid1,plain", "pid1 (unshare --pid --fork --mount-proc) and/or plain")
	seq := flag.Bool("seq", false, "run one init at a time")
	md := flag.Bool("md", false, "print a Markdown table")
	flag.Parse()
	if *zk == "" {
		dir, err := os.MkdirTemp("", "zkwrap-bench-")
		if err != nil {
			fail(err)
		}
		defer os.RemoveAll(dir)
		*zk = filepath.Join(dir, "zkwrap")
		if out, err := exec.Command("go", "build", "-o", *zk, "github.com/zkfence/zkfence/supervise/testdata/zkwrap").CombinedOutput(); err != nil {
			fail(fmt.Errorf("go build zkwrap: %v\n%s", err, out))
		}
	}
	secs := strconv.FormatFloat(sleep.Seconds(), 'f', -1, 64)
	inits := []struct {
		name string
		argv func(pid1 bool) []string
	}{
		{"zkwrap (supervise)", func(bool) []string { return []string{*zk, "--", "sleep", secs} }},
		{"tini", func(pid1 bool) []string {
			if pid1 {
				return []string{"/usr/bin/tini", "--", "sleep", secs}
			}
			return []string{"/usr/bin/tini", "-s", "--", "sleep", secs}
		}},
		{"dumb-init", func(bool) []string { return []string{"/usr/bin/dumb-init", "--", "sleep", secs} }},
	}
	var results []*result
	var wg sync.WaitGroup
	for _, mode := range strings.Split(*modes, ",") {
		for _, in := range inits {
			r := &result{init: in.name, mode: mode}
			results = append(results, r)
			argv := in.argv(mode == "pid1")
			wg.Add(1)
			run := func() { defer wg.Done(); measure(r, argv, mode == "pid1") }
			if *seq {
				run()
			} else {
				go run()
			}
		}
	}
	wg.Wait()
	print(results, *sleep, *md)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

// measure runs argv (under unshare when pid1) and samples the init.
func measure(r *result, argv []string, pid1 bool) {
	if pid1 {
		argv = append([]string{"unshare", "--pid", "--fork", "--mount-proc"}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if r.err = cmd.Start(); r.err != nil {
		return
	}
	start := time.Now()
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	pid := cmd.Process.Pid
	if pid1 {
		pid = childOf(pid, exited)
	}
	var s0 sample
	var have0 bool
	var last sample
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if s, ok := read(pid); ok {
			last = s
			if !have0 && time.Since(start) >= warmup {
				s0, have0 = s, true
			}
		}
		select {
		case <-exited:
			r.exitCode = cmd.ProcessState.ExitCode()
			r.hwmKB, r.rssKB, r.anonKB = last.hwmKB, last.rssKB, last.anonKB
			r.ticks = time.Duration(last.ticks) * clockTick
			r.cpuTotal = last.runtime
			if have0 {
				r.cpuIdle = last.runtime - s0.runtime
				r.window = last.at.Sub(s0.at)
				r.switches = last.switches - s0.switches
			}
			return
		case <-tick.C:
		}
	}
}

// childOf waits for the first child of pid (unshare's: the namespace's init).
func childOf(pid int, exited <-chan struct{}) int {
	for {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
		if f := strings.Fields(string(b)); len(f) > 0 {
			n, _ := strconv.Atoi(f[0])
			return n
		}
		select {
		case <-exited:
			return pid
		case <-time.After(time.Millisecond):
		}
	}
}

type sample struct {
	at           time.Time
	hwmKB, rssKB int
	anonKB       int
	ticks        int
	runtime      time.Duration // se.sum_exec_runtime of every thread
	switches     int
}

// read samples pid: VmHWM and VmRSS, utime+stime, and the context switches
// of every thread.
func read(pid int) (sample, bool) {
	s := sample{at: time.Now()}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, false
	}
	s.hwmKB, s.rssKB, s.anonKB = field(status, "VmHWM:"), field(status, "VmRSS:"), field(status, "RssAnon:")
	if s.hwmKB == 0 {
		return s, false // exiting or a zombie: its memory is gone
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, false
	}
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	ut, _ := strconv.Atoi(f[11]) // field 14 of stat, counted after "pid (comm)"
	st, _ := strconv.Atoi(f[12])
	s.ticks = ut + st
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	for _, t := range tasks {
		if b, err := os.ReadFile(t + "/status"); err == nil {
			s.switches += field(b, "voluntary_ctxt_switches:") + field(b, "nonvoluntary_ctxt_switches:")
		}
		if b, err := os.ReadFile(t + "/sched"); err == nil {
			s.runtime += msField(b, "se.sum_exec_runtime")
		}
	}
	return s, true
}

// msField reads a "key : 12.345678" line of /proc/PID/sched (milliseconds).
func msField(sched []byte, key string) time.Duration {
	for _, line := range strings.Split(string(sched), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			v := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
			ms, _ := strconv.ParseFloat(v, 64)
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	return 0
}

func field(status []byte, key string) int {
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			n, _ := strconv.Atoi(strings.Fields(rest)[0])
			return n
		}
	}
	return 0
}

func print(results []*result, sleep time.Duration, md bool) {
	fmt.Printf("child: sleep %v; idle window from %v after start to the last sample\n\n", sleep, warmup)
	var w interface {
		io.Writer
		Flush() error
	} = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	if md {
		w = &mdWriter{}
	}
	fmt.Fprintln(w, "init\tmode\tpeak RSS (VmHWM)\tRSS at end\tof which anon\tutime+stime\tCPU total\tCPU while idle\tidle CPU %\twake-ups/s idle\texit\t")
	for _, r := range results {
		if r.err != nil {
			fmt.Fprintf(w, "%s\t%s\terror: %v\t\t\t\t\t\t\t\t\t\n", r.init, r.mode, r.err)
			continue
		}
		pct, rate := 0.0, 0.0
		if r.window > 0 {
			pct = 100 * r.cpuIdle.Seconds() / r.window.Seconds()
			rate = float64(r.switches) / r.window.Seconds()
		}
		fmt.Fprintf(w, "%s\t%s\t%d KiB\t%d KiB\t%d KiB\t%v\t%v\t%v in %.1fs\t%.4f\t%.1f\t%d\t\n",
			r.init, r.mode, r.hwmKB, r.rssKB, r.anonKB, r.ticks, r.cpuTotal.Round(time.Microsecond),
			r.cpuIdle.Round(time.Microsecond), r.window.Seconds(), pct, rate, r.exitCode)
	}
	w.Flush()
}

// mdWriter turns the tab-separated lines into a Markdown table.
type mdWriter struct{ lines int }

func (m *mdWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		cells := strings.Split(strings.TrimSuffix(line, "\t"), "\t")
		fmt.Println("| " + strings.Join(cells, " | ") + " |")
		if m.lines == 0 {
			fmt.Println("|" + strings.Repeat(" --- |", len(cells)))
		}
		m.lines++
	}
	return len(p), nil
}

func (m *mdWriter) Flush() error { return nil }
