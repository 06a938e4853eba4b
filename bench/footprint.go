package main

// Footprint: zkfence's own peak RSS and idle CPU while its child sleeps,
// next to tini and dumb-init running the same `sleep`, all side by side in
// one run (idle processes do not disturb each other). Sampled every 100ms
// with gopsutil: anonymous RSS (statm's resident minus shared), the threads
// and each thread's context switches (wake-ups), the child's appearance.
// Two figures gopsutil does not give are read by hand: VmHWM, the kernel's
// own peak RSS (gopsutil parses it but exposes only statm's figures, and a
// 100ms sample would miss a short peak), and each thread's
// se.sum_exec_runtime from /proc/PID/task/TID/sched (CPU to the nanosecond:
// gopsutil's CPU times are utime+stime in 10ms ticks, far coarser than a
// second of idle CPU). The idle window starts 1s after the child started.

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shirou/gopsutil/v3/process"
)

var idleFor = flag.Duration("idle", 10*time.Second, "footprint: how long each wrapper's child sleeps")

// defaultFlags is zkfence at its default heartbeat (1s) and stop grace (1s),
// with the session timeout the bench's ZooKeeper allows (its maximum is
// 10s; zkfence's default 30s would be negotiated down to it) and the
// server's real tickTime. syncLimit 2 as in the fast flags (the server is
// standalone: it has no followers).
var defaultFlags = []string{"--session-timeout", "10s", "--zk-tick-time", "200ms", "--zk-sync-limit", "2", "--log-format", "json"}

type footprint struct {
	name         string
	hwmKB, anon  int
	cpuIdle, win time.Duration
	switches     int
	err          error
}

func footprints(e *env) ([]row, error) {
	for _, p := range []string{"/usr/bin/tini", "/usr/bin/dumb-init"} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s: %w (apt-get install tini dumb-init)", p, err)
		}
	}
	secs := strconv.FormatFloat((*idleFor + 1500*time.Millisecond).Seconds(), 'f', -1, 64)
	zkArgs := func(lock string, flags []string) []string {
		a := append([]string{e.zkfence, "run", "--zk", e.zk.Addr(), "--lock", lock}, flags...)
		return append(a, "--", "sleep", secs)
	}
	inits := []struct {
		name string
		argv []string
	}{
		{"zkfence (h 1s, T 10s)", zkArgs("/bench/footprint-default", defaultFlags)},
		{"zkfence (h 200ms, T 6s)", zkArgs("/bench/footprint-fast", fastFlags)},
		{"tini", []string{"/usr/bin/tini", "-s", "--", "sleep", secs}},
		{"dumb-init", []string{"/usr/bin/dumb-init", "--", "sleep", secs}},
	}
	res := make([]*footprint, len(inits))
	var wg sync.WaitGroup
	for i, in := range inits {
		res[i] = &footprint{name: in.name}
		wg.Add(1)
		go func() { defer wg.Done(); sampleInit(res[i], in.argv) }()
	}
	wg.Wait()
	for _, r := range res {
		if r.err != nil {
			return nil, fmt.Errorf("%s: %w", r.name, r.err)
		}
	}
	mb := func(kb int) string { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }
	cpu := func(r *footprint) string {
		return fmt.Sprintf("%.4f%% of a core (%s in %.1fs), %.1f wake-ups/s",
			100*r.cpuIdle.Seconds()/r.win.Seconds(), r.cpuIdle.Round(time.Microsecond), r.win.Seconds(), float64(r.switches)/r.win.Seconds())
	}
	z, zf, t, d := res[0], res[1], res[2], res[3]
	return []row{
		{"peak RSS (VmHWM), zkfence", mb(z.hwmKB), "< 20 MB",
			fmt.Sprintf("anon %s; h 200ms: %s; tini %s, dumb-init %s; child sleep, ZooKeeper on loopback", mb(z.anon), mb(zf.hwmKB), mb(t.hwmKB), mb(d.hwmKB))},
		{"idle CPU, zkfence (h 1s, T 10s)", cpu(z), "(no stated goal)", "one Exists per heartbeat, a ping every T/3"},
		{"idle CPU, zkfence (h 200ms, T 6s)", cpu(zf), "(no stated goal)", "the fast profile"},
		{"idle CPU, tini", cpu(t), "(peer)", "waits in waitpid/sigtimedwait"},
		{"idle CPU, dumb-init", cpu(d), "(peer)", ""},
	}, nil
}

// sampleInit runs argv as a plain process and samples it until it exits.
func sampleInit(r *footprint, argv []string) {
	cmd := exec.Command(argv[0], argv[1:]...)
	p, err := startProc(cmd)
	if err != nil {
		r.err = err
		return
	}
	defer p.killGroup()
	pid := p.pid()
	// The idle window starts 1s after the child appeared.
	var childAt time.Time
	var s0, last initSample
	have0 := false
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	limit := time.After(*idleFor + 30*time.Second)
	for {
		if childAt.IsZero() {
			if kids, _ := (&process.Process{Pid: int32(pid)}).Children(); len(kids) > 0 {
				childAt = time.Now()
			}
		}
		if s, ok := readInit(pid); ok {
			last = s
			if !have0 && !childAt.IsZero() && time.Since(childAt) >= time.Second {
				s0, have0 = s, true
			}
		}
		select {
		case <-p.done:
			if !have0 {
				r.err = fmt.Errorf("exited (%v) before the idle window began", cmd.ProcessState)
				return
			}
			if code := cmd.ProcessState.ExitCode(); code != 0 {
				r.err = fmt.Errorf("exit code %d", code)
				return
			}
			r.hwmKB, r.anon = last.hwmKB, last.anonKB
			r.cpuIdle = last.runtime - s0.runtime
			r.win = last.at.Sub(s0.at)
			r.switches = last.switches - s0.switches
			return
		case <-limit:
			p.cmd.Process.Signal(syscall.SIGTERM)
			r.err = fmt.Errorf("did not exit")
			return
		case <-tick.C:
		}
	}
}

type initSample struct {
	at            time.Time
	hwmKB, anonKB int
	runtime       time.Duration
	switches      int
}

// readInit samples one process: memory and wake-ups through gopsutil, peak
// RSS and CPU by hand (see the file's comment for why).
func readInit(pid int) (initSample, bool) {
	s := initSample{at: time.Now()}
	p := &process.Process{Pid: int32(pid)}
	if st, err := p.Status(); err != nil || (len(st) > 0 && st[0] == process.Zombie) {
		return s, false
	}
	mem, err := p.MemoryInfoEx()
	if err != nil {
		return s, false
	}
	s.anonKB = int((mem.RSS - min(mem.Shared, mem.RSS)) >> 10)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, false
	}
	s.hwmKB = statusKB(status, "VmHWM:")
	threads, err := p.Threads()
	if err != nil {
		return s, false
	}
	for tid := range threads {
		if cs, err := (&process.Process{Pid: tid}).NumCtxSwitches(); err == nil {
			s.switches += int(cs.Voluntary + cs.Involuntary)
		}
		s.runtime += schedRuntime(pid, int(tid))
	}
	return s, true
}

// schedRuntime is a thread's se.sum_exec_runtime (milliseconds with six
// decimals in the file), 0 when the thread is gone.
func schedRuntime(pid, tid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/sched", pid, tid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "se.sum_exec_runtime"); ok {
			v := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
			f, _ := strconv.ParseFloat(v, 64)
			return time.Duration(f * float64(time.Millisecond))
		}
	}
	return 0
}

// statusKB reads the first number after key in a /proc status file.
func statusKB(status []byte, key string) int {
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				n, _ := strconv.Atoi(f[0])
				return n
			}
		}
	}
	return 0
}
