package health

import (
	"context"
	"os"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shirou/gopsutil/v3/process"
	"golang.org/x/sys/unix"
)

// childCollector exports the child tree's resource use, read from /proc
// with gopsutil when Prometheus scrapes, on the scrape's goroutine: nothing
// on the run pipeline's path waits for it, and nothing is read between
// scrapes.
//
// The tree is the child and its descendants, plus the orphans zkfence (a
// subreaper, or PID 1) inherited that are still in the child's process
// group, and their descendants. An orphan that left the group (a daemon
// that called setsid) is not counted, nor are zkfence's own helpers (fence
// agent, backup tools): they run in groups of their own.
//
// Processes are named to gopsutil by pid only (process.Process{Pid: p}),
// never with process.NewProcess: that calls os.FindProcess, which holds a
// pidfd until the garbage collector closes it, and supervise takes a
// process the wrapper holds a pidfd for as a helper of its own, not part of
// the tree it must stop (S3).
type childCollector struct {
	pid func() int // the child's pid; 0 when no child runs

	mu      sync.Mutex
	started bool                // a child was seen: the counter exists
	live    map[procKey]float64 // CPU seconds of each tree process at the last scrape
	retired float64             // CPU seconds of tree processes gone since, as last seen
}

// procKey names a process for good: a pid and its start time.
type procKey struct {
	pid   int32
	start int64
}

var (
	childRSSDesc = prometheus.NewDesc("zkfence_child_resident_bytes",
		"Resident memory of the child's process tree (the child, its descendants and orphans left in its process group), summed.",
		nil, nil)
	childCPUDesc = prometheus.NewDesc("zkfence_child_cpu_seconds_total",
		"User and system CPU time of the child's process tree, summed; a process that exits counts with its time at the last scrape that saw it.",
		nil, nil)
)

func newChildCollector(pid func() int) *childCollector {
	// gopsutil computes a process's start time from the boot time, which
	// it derives, on every read, from the clock and /proc/uptime: it
	// jitters, and a start time truncated to the second can then change
	// from one scrape to the next, which would count the process's CPU time
	// twice. With the cache, the boot time is computed once per process
	// (and every read of /proc/PID/stat no longer reads /proc/uptime too).
	process.EnableBootTimeCache(true)
	return &childCollector{pid: pid, live: map[procKey]float64{}}
}

func (c *childCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- childRSSDesc
	ch <- childCPUDesc
}

// Collect reads the tree now. A process that exits during the read is left
// out; a process table that cannot be read leaves the last CPU total.
func (c *childCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	root := c.pid()
	if root > 0 {
		c.started = true
		rss, cpu, ok := c.scan(context.Background(), int32(root))
		if ok {
			ch <- prometheus.MustNewConstMetric(childRSSDesc, prometheus.GaugeValue, rss)
			c.retire(cpu)
		}
	}
	if !c.started {
		return
	}
	total := c.retired
	for _, s := range c.live {
		total += s
	}
	ch <- prometheus.MustNewConstMetric(childCPUDesc, prometheus.CounterValue, total)
}

// retire replaces the live CPU times with now's, and adds the last seen time
// of each process that is gone to retired, so that the counter never goes
// down when a process of the tree exits.
func (c *childCollector) retire(now map[procKey]float64) {
	for k, s := range c.live {
		if _, ok := now[k]; !ok {
			c.retired += s
		}
	}
	c.live = now
}

// scan sums the resident memory of the tree under root and returns each
// tree process's CPU seconds; ok is false when the process table cannot be
// read.
func (c *childCollector) scan(ctx context.Context, root int32) (rss float64, cpu map[procKey]float64, ok bool) {
	pids, err := process.PidsWithContext(ctx)
	if err != nil {
		return 0, nil, false
	}
	kids := map[int32][]int32{}
	for _, pid := range pids {
		if ppid, err := (&process.Process{Pid: pid}).PpidWithContext(ctx); err == nil {
			kids[ppid] = append(kids[ppid], pid)
		}
	}
	queue := []int32{root}
	for _, k := range kids[int32(os.Getpid())] {
		if k != root && inGroup(k, root) {
			queue = append(queue, k) // an orphan of the child's group
		}
	}
	cpu = map[procKey]float64{}
	for ; len(queue) > 0; queue = queue[1:] {
		p := &process.Process{Pid: queue[0]}
		queue = append(queue, kids[p.Pid]...)
		start, err1 := p.CreateTimeWithContext(ctx)
		times, err2 := p.TimesWithContext(ctx)
		mem, err3 := p.MemoryInfoWithContext(ctx)
		if err1 != nil || err2 != nil || err3 != nil {
			continue // exited during the scan
		}
		rss += float64(mem.RSS)
		cpu[procKey{p.Pid, start}] = times.User + times.System
	}
	return rss, cpu, true
}

// inGroup reports whether pid is in process group pgid.
func inGroup(pid, pgid int32) bool {
	g, err := unix.Getpgid(int(pid))
	return err == nil && g == int(pgid)
}
