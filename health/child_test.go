package health

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v3/process"
	"golang.org/x/sys/unix"
)

// helperEnv selects a helper mode of the test binary: "child" allocates
// childAlloc and starts a "grandchild", which allocates grandchildAlloc and
// burns grandchildCPU of CPU time. Each says "ready <pid>" on stdout once
// done, then sleeps until killed.
const (
	helperEnv       = "ZKFENCE_HEALTH_HELPER"
	childAlloc      = 16 << 20
	grandchildAlloc = 96 << 20
	grandchildCPU   = 400 * time.Millisecond
)

var ballast []byte

func runHelper(mode string) {
	switch mode {
	case "child":
		ballast = touched(childAlloc)
		gc := exec.Command(os.Args[0])
		gc.Env = append(os.Environ(), helperEnv+"=grandchild")
		gc.Stdout, gc.Stderr = os.Stdout, os.Stderr
		if err := gc.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "grandchild:", err)
			os.Exit(1)
		}
	case "grandchild":
		ballast = touched(grandchildAlloc)
		burn(grandchildCPU)
	case "orphaning-child": // starts a middle process and waits for it
		ballast = touched(childAlloc)
		mid := exec.Command(os.Args[0])
		mid.Env = append(os.Environ(), helperEnv+"=middle")
		mid.Stdout, mid.Stderr = os.Stdout, os.Stderr
		if err := mid.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "middle:", err)
			os.Exit(1)
		}
	case "middle": // starts the grandchild and exits: it is orphaned
		gc := exec.Command(os.Args[0])
		gc.Env = append(os.Environ(), helperEnv+"=grandchild")
		gc.Stdout, gc.Stderr = os.Stdout, os.Stderr
		if err := gc.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "grandchild:", err)
			os.Exit(1)
		}
		os.Exit(0)
	default:
		os.Exit(2)
	}
	fmt.Printf("ready %d\n", os.Getpid())
	time.Sleep(time.Minute) // killed by the test long before
	runtime.KeepAlive(ballast)
	os.Exit(0)
}

// touched allocates n bytes and writes every page, so that all are resident.
func touched(n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += os.Getpagesize() {
		b[i] = 1
	}
	return b
}

// burn spins until the process has used d of CPU time (bounded by 30 s of
// wall time on a busy machine).
func burn(d time.Duration) {
	var ru syscall.Rusage
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		for i := 0; i < 1e6; i++ {
			_ = i * i
		}
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		if time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) >= d {
			return
		}
	}
}

// scrapeValue returns the value of the sample named name on a /metrics page.
func scrapeValue(t *testing.T, page, name string) (float64, bool) {
	t.Helper()
	for _, l := range strings.Split(page, "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && f[0] == name {
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				t.Fatalf("%s: %v", l, err)
			}
			return v, true
		}
	}
	return 0, false
}

// pidfds counts this process's open pidfds.
func pidfds(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if l, _ := os.Readlink("/proc/self/fd/" + e.Name()); l == "anon_inode:[pidfd]" {
			n++
		}
	}
	return n
}

// TestChildResourcesSumTheTree runs a real child whose grandchild holds most
// of the memory and burns all of the CPU: /metrics must count both, and
// keep counting the grandchild's CPU time once it is gone.
func TestChildResourcesSumTheTree(t *testing.T) {
	s := NewState("/zkfence/db")
	srv, err := Listen("127.0.0.1:0", s)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	metrics := func() string { _, page := get(t, "http://"+srv.Addr()+"/metrics"); return page }

	if _, ok := scrapeValue(t, metrics(), "zkfence_child_cpu_seconds_total"); ok {
		t.Fatal("child CPU exported before a child started")
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"=child")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the child's group: grandchild included
		cmd.Wait()
	})
	var grandchild int
	sc := bufio.NewScanner(out)
	for i := 0; i < 2; i++ { // the child's line, the grandchild's line, in either order
		if !sc.Scan() {
			t.Fatalf("helper output ended: %v", sc.Err())
		}
		var pid int
		if _, err := fmt.Sscanf(sc.Text(), "ready %d", &pid); err != nil {
			t.Fatalf("helper said %q", sc.Text())
		}
		if pid != cmd.Process.Pid {
			grandchild = pid
		}
	}
	s.ChildStarted(cmd.Process.Pid)

	before := pidfds(t)
	page := metrics()
	if after := pidfds(t); after != before {
		t.Errorf("a scrape left %d pidfds open (supervise would take those processes for helpers)", after-before)
	}
	rss, ok1 := scrapeValue(t, page, "zkfence_child_resident_bytes")
	cpu, ok2 := scrapeValue(t, page, "zkfence_child_cpu_seconds_total")
	if !ok1 || !ok2 {
		t.Fatalf("child metrics missing:\n%s", page)
	}
	own := ownUse(t, cmd.Process.Pid)
	t.Logf("tree: RSS %.1f MiB, CPU %.2f s; the child alone: RSS %.1f MiB, CPU %.2f s", rss/(1<<20), cpu, own.rss/(1<<20), own.cpu)
	if rss < childAlloc+grandchildAlloc || rss < own.rss+grandchildAlloc {
		t.Errorf("resident %.1f MiB: the child's own %.1f MiB plus the grandchild's %d MiB not counted",
			rss/(1<<20), own.rss/(1<<20), grandchildAlloc>>20)
	}
	// Times are counted in clock ticks: allow one tick (10 ms) short.
	if cpu < own.cpu+grandchildCPU.Seconds()-0.01 {
		t.Errorf("CPU %.2f s: the child's own %.2f s plus the grandchild's %v not counted", cpu, own.cpu, grandchildCPU)
	}

	// The tree is idle now (both sleep): scrapes must not count a process
	// twice, as they would if its identity (pid and start time) changed
	// from one scrape to the next.
	for i := 0; i < 20; i++ {
		page = metrics()
	}
	if again, _ := scrapeValue(t, page, "zkfence_child_cpu_seconds_total"); again > cpu+0.05 {
		t.Errorf("CPU counter of an idle tree went from %.2f to %.2f s in 20 scrapes", cpu, again)
	}

	// The grandchild exits: its memory leaves the sum, its CPU time stays.
	if err := syscall.Kill(grandchild, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		page = metrics()
		rss2, _ := scrapeValue(t, page, "zkfence_child_resident_bytes")
		cpu2, _ := scrapeValue(t, page, "zkfence_child_cpu_seconds_total")
		if cpu2 < cpu {
			t.Fatalf("CPU counter went down from %.2f to %.2f s when the grandchild exited", cpu, cpu2)
		}
		if rss2 < grandchildAlloc {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("resident %.1f MiB 10 s after the grandchild was killed", rss2/(1<<20))
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The run ends: no resident memory is reported, the counter stays.
	s.Stopped()
	page = metrics()
	if _, ok := scrapeValue(t, page, "zkfence_child_resident_bytes"); ok {
		t.Error("resident memory exported once the child stopped")
	}
	if cpu3, ok := scrapeValue(t, page, "zkfence_child_cpu_seconds_total"); !ok || cpu3 < cpu {
		t.Errorf("CPU counter %.2f (present %v) once the child stopped, was %.2f", cpu3, ok, cpu)
	}
}

// TestChildResourcesCountOrphansOfTheGroup: a process of the child's tree
// whose parent exited is reparented to zkfence (a subreaper), no longer
// below the child; it is still counted while it stays in the child's
// process group.
func TestChildResourcesCountOrphansOfTheGroup(t *testing.T) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
	s := NewState("/zkfence/db")
	srv, err := Listen("127.0.0.1:0", s)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"=orphaning-child")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var orphan int
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		if orphan > 0 {
			var ws syscall.WaitStatus
			syscall.Wait4(orphan, &ws, 0, nil) // ours to reap, as a subreaper
		}
	})
	sc := bufio.NewScanner(out)
	for i := 0; i < 2; i++ { // the grandchild's line, then the child's (after the middle exited)
		if !sc.Scan() {
			t.Fatalf("helper output ended: %v", sc.Err())
		}
		var pid int
		if _, err := fmt.Sscanf(sc.Text(), "ready %d", &pid); err != nil {
			t.Fatalf("helper said %q", sc.Text())
		}
		if pid != cmd.Process.Pid {
			orphan = pid
		}
	}
	if ppid, err := (&process.Process{Pid: int32(orphan)}).Ppid(); err != nil || int(ppid) != os.Getpid() {
		t.Fatalf("the grandchild's parent is %d (%v), want this process %d", ppid, err, os.Getpid())
	}
	s.ChildStarted(cmd.Process.Pid)
	_, page := get(t, "http://"+srv.Addr()+"/metrics")
	rss, _ := scrapeValue(t, page, "zkfence_child_resident_bytes")
	cpu, _ := scrapeValue(t, page, "zkfence_child_cpu_seconds_total")
	own := ownUse(t, cmd.Process.Pid)
	t.Logf("tree with an orphan: RSS %.1f MiB, CPU %.2f s; the child alone: RSS %.1f MiB, CPU %.2f s",
		rss/(1<<20), cpu, own.rss/(1<<20), own.cpu)
	if rss < own.rss+grandchildAlloc {
		t.Errorf("resident %.1f MiB: the orphan's %d MiB not counted", rss/(1<<20), grandchildAlloc>>20)
	}
	if cpu < own.cpu+grandchildCPU.Seconds()-0.01 {
		t.Errorf("CPU %.2f s: the orphan's %v not counted", cpu, grandchildCPU)
	}
}

type use struct{ rss, cpu float64 }

// ownUse is pid's own resident memory and CPU time, without its tree.
func ownUse(t *testing.T, pid int) use {
	t.Helper()
	p := &process.Process{Pid: int32(pid)}
	times, err := p.Times()
	if err != nil {
		t.Fatal(err)
	}
	mem, err := p.MemoryInfo()
	if err != nil {
		t.Fatal(err)
	}
	return use{rss: float64(mem.RSS), cpu: times.User + times.System}
}
