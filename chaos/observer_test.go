//go:build chaos

package chaos

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// observer measures I1 from outside: every pollEvery it lists the host's
// /proc, finds the database processes (by name), maps each to its container
// through /proc/PID/cgroup, and decides per container whether its database
// is alive and running: some database process exists, is not a zombie, has
// no SIGKILL pending (it will not run user code again), and the container
// is not frozen (its cgroup v2 reports "frozen 1", or its v1 freezer cgroup
// is FROZEN: docker pause on either). Every database process counts, not
// only the postmaster: a backend or checkpointer outliving its postmaster
// can still write. An overlap is a poll at which two containers are running
// a database.
type observer struct {
	names   map[string]bool // process names (comm) of the database
	watched func(cid string) (node string, ok bool)

	mu        sync.Mutex
	procs     map[int]*procInfo
	running   map[string]time.Time // node -> running since
	intervals map[string][]interval
	overlaps  []interval
	polls     int
	maxGap    time.Duration // longest time between two polls
	stop      chan struct{}
	done      chan struct{}
}

type procInfo struct {
	db        bool
	node      string // "" when not one of ours
	firstSeen time.Time
}

// interval is [from, to); to is zero while open.
type interval struct {
	from, to time.Time
	open     bool   // still running at the end of a window
	nodes    string // for overlaps: which nodes
}

const pollEvery = 10 * time.Millisecond

func newObserver(names []string, watched func(cid string) (string, bool)) *observer {
	o := &observer{names: map[string]bool{}, watched: watched, procs: map[int]*procInfo{},
		running: map[string]time.Time{}, intervals: map[string][]interval{},
		stop: make(chan struct{}), done: make(chan struct{})}
	for _, n := range names {
		o.names[n] = true
	}
	go o.loop()
	return o
}

func (o *observer) close() {
	close(o.stop)
	<-o.done
}

func (o *observer) loop() {
	defer close(o.done)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case <-o.stop:
			return
		case <-tick.C:
		}
		now := time.Now()
		o.poll(now)
		o.mu.Lock()
		if gap := now.Sub(last); gap > o.maxGap {
			o.maxGap = gap
		}
		o.mu.Unlock()
		last = now
	}
}

var dockerCgroup = regexp.MustCompile(`/docker[/-]([0-9a-f]{64})`)

func (o *observer) poll(now time.Time) {
	d, err := os.Open("/proc")
	if err != nil {
		return
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	seen := make(map[int]bool, len(names))
	runningNow := map[string]bool{}
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		seen[pid] = true
		p := o.procs[pid]
		// A process is looked at again during its first second: sh or
		// zkfence becomes the database when it calls exec.
		if p == nil || (!p.db && now.Sub(p.firstSeen) < time.Second) {
			comm, _, ok := readStat(pid)
			if !ok {
				continue
			}
			if p == nil {
				p = &procInfo{firstSeen: now}
				o.procs[pid] = p
			}
			if o.names[comm] {
				p.db = true
				p.node = o.nodeOf(pid)
			}
		}
		if !p.db || p.node == "" {
			continue
		}
		_, state, ok := readStat(pid)
		if !ok || state == 'Z' || state == 'X' || runningNow[p.node] {
			continue
		}
		// SIGKILL pending: the kernel ends the process before it runs
		// another user-space instruction. One that waits in the kernel on
		// a FUSE daemon frozen with it (scenario 6: a request bindfs had
		// already taken when the container froze) stays until the daemon
		// thaws and answers, and only its in-flight write completes.
		if killPending(pid) {
			continue
		}
		runningNow[p.node] = true
	}
	for pid := range o.procs {
		if !seen[pid] {
			delete(o.procs, pid)
		}
	}
	// A container whose freezer cgroup is frozen runs nothing.
	for node := range runningNow {
		if o.frozen(node) {
			delete(runningNow, node)
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.polls++
	for node, since := range o.running {
		if !runningNow[node] {
			o.intervals[node] = append(o.intervals[node], interval{from: since, to: now})
			delete(o.running, node)
		}
	}
	for node := range runningNow {
		if _, ok := o.running[node]; !ok {
			o.running[node] = now
		}
	}
	if len(runningNow) > 1 {
		var who []byte
		for node := range runningNow {
			who = append(append(who, node...), ' ')
		}
		if k := len(o.overlaps); k > 0 && o.overlaps[k-1].to.IsZero() {
			// still open
		} else {
			o.overlaps = append(o.overlaps, interval{from: now, nodes: string(who)})
		}
	} else if k := len(o.overlaps); k > 0 && o.overlaps[k-1].to.IsZero() {
		o.overlaps[k-1].to = now
	}
}

// cids maps node names to container IDs for the freezer check.
var cidOf sync.Map // node -> container id

func (o *observer) nodeOf(pid int) string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return ""
	}
	m := dockerCgroup.FindSubmatch(data)
	if m == nil {
		return ""
	}
	cid := string(m[1])
	node, ok := o.watched(cid)
	if !ok {
		return ""
	}
	cidOf.Store(node, cid)
	return node
}

func (o *observer) frozen(node string) bool {
	cid, ok := cidOf.Load(node)
	if !ok {
		return false
	}
	if v2Frozen(cid.(string)) { // every task of the cgroup is frozen
		return true
	}
	data, err := os.ReadFile("/sys/fs/cgroup/freezer/docker/" + cid.(string) + "/freezer.state")
	return err == nil && bytes.HasPrefix(data, []byte("FROZEN"))
}

// killPending reports whether SIGKILL is pending for the process (the
// SigPnd or ShdPnd mask of /proc/PID/status has bit 9-1 set).
func killPending(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || (string(name) != "SigPnd" && string(name) != "ShdPnd") {
			continue
		}
		mask, err := strconv.ParseUint(string(bytes.TrimSpace(value)), 16, 64)
		if err == nil && mask&(1<<(9-1)) != 0 {
			return true
		}
	}
	return false
}

// readStat returns a process's name and state from /proc/PID/stat.
func readStat(pid int) (comm string, state byte, ok bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", 0, false
	}
	i, j := bytes.IndexByte(data, '('), bytes.LastIndexByte(data, ')')
	if i < 0 || j < i || j+2 >= len(data) {
		return "", 0, false
	}
	return string(data[i+1 : j]), data[j+2], true
}

// window is what the observer saw between from and to.
type window struct {
	overlap   time.Duration
	overlaps  []interval
	intervals map[string][]interval // clipped to the window; open ones end at to, with open set
	maxGap    time.Duration
	polls     int
}

func (o *observer) window(from, to time.Time) window {
	o.mu.Lock()
	defer o.mu.Unlock()
	w := window{intervals: map[string][]interval{}, maxGap: o.maxGap, polls: o.polls}
	clip := func(iv interval) (interval, bool) {
		if iv.to.IsZero() || iv.to.After(to) {
			iv.to, iv.open = to, true
		}
		if iv.from.Before(from) {
			iv.from = from
		}
		return iv, iv.to.After(iv.from)
	}
	for _, iv := range o.overlaps {
		if c, ok := clip(iv); ok {
			w.overlap += c.to.Sub(c.from)
			w.overlaps = append(w.overlaps, c)
		}
	}
	for node, ivs := range o.intervals {
		for _, iv := range ivs {
			if c, ok := clip(iv); ok {
				w.intervals[node] = append(w.intervals[node], c)
			}
		}
	}
	for node, since := range o.running {
		if c, ok := clip(interval{from: since}); ok {
			w.intervals[node] = append(w.intervals[node], c)
		}
	}
	return w
}

// stopOf is when node's database stopped running, first at or after t
// (zero if it did not within the window).
func (w window) stopOf(node string, t time.Time) time.Time {
	for _, iv := range w.intervals[node] {
		if !iv.open && !iv.to.Before(t) {
			return iv.to
		}
	}
	return time.Time{}
}
