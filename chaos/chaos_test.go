//go:build chaos

package chaos

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dc "github.com/ory/dockertest/v3/docker"

	"github.com/zkfence/zkfence/internal/images"
)

var (
	flagTrials = flag.Int("chaos.trials", 5, "trials per scenario")
	flagOnly   = flag.String("chaos.only", "", "run only these scenarios: comma-separated numbers or names (e.g. 1,9 or node-kill)")
	flagSeed   = flag.Int64("chaos.seed", 0, "random seed for fault timing (0: from the clock; logged)")
	flagOut    = flag.String("chaos.out", "results/latest.md", "where the results table is written (default results/latest-mariadb.md with -chaos.engine mariadb)")
	flagEngine = flag.String("chaos.engine", "postgres", "the database of the nodes: postgres or mariadb")
	flagFence  = flag.String("chaos.fence", "auto",
		"fence_docker in the nodes: auto (only for the scenarios that need it: 10, 11), on, off, or both (each scenario off then on; 10 and 11 on only)")
	flagFast = flag.String("chaos.fast-takeover", "off",
		"--fast-takeover in the nodes (with fence_docker, which it needs): off, on, or both (each scenario without, then with it)")
	flagTakeoverProbe  = flag.Duration("chaos.takeover-probe", 500*time.Millisecond, "the nodes' --takeover-probe with -chaos.fast-takeover")
	flagTakeoverAfter  = flag.Int("chaos.takeover-after", 3, "the nodes' --takeover-after with -chaos.fast-takeover")
	flagSessionTimeout = flag.Duration("chaos.session-timeout", 8*time.Second,
		"the nodes' --session-timeout T (the ensemble's maxSessionTimeout is raised to 2T above 10 s); scenarios 6, 10 and 11 freeze for 9-14 s, longer than T only at 8 s")
	flagLatest = flag.Bool("chaos.latest-images", false,
		"use the zkfence-local/*:latest images as they are instead of building the working tree's (for working on the suite itself)")
)

func dcKill(id string) dc.KillContainerOptions {
	return dc.KillContainerOptions{ID: id, Signal: dc.SIGKILL}
}

// outFile is -chaos.out, or, when it is not given, results/latest.md for
// postgres and results/latest-<engine>.md for another engine.
func outFile(eng engine) string {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "chaos.out" })
	if set || eng.name == "postgres" {
		return *flagOut
	}
	return "results/latest-" + eng.name + ".md"
}

func selected(sc scenario) bool {
	if *flagOnly == "" {
		return true
	}
	num, _, _ := strings.Cut(sc.name, "-")
	for _, w := range strings.Split(*flagOnly, ",") {
		w = strings.TrimSpace(w)
		if w == "" {
			continue
		}
		// A number selects that scenario only ("1" is not "10"); a name
		// or a part of one ("node-kill") selects every scenario that has it.
		if _, err := strconv.Atoi(w); err == nil && w == num || err != nil && strings.Contains(sc.name, w) {
			return true
		}
	}
	return false
}

func TestChaos(t *testing.T) {
	seed := *flagSeed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("seed %d (rerun the same fault timing with -chaos.seed %d)", seed, seed)
	rng := rand.New(rand.NewSource(seed))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	root, err := images.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	var set images.Set
	if *flagLatest {
		set = images.Set{ZooKeeper: images.LocalRepository + "/zookeeper:latest",
			Postgres: images.LocalRepository + "/postgres:latest", MariaDB: images.LocalRepository + "/mariadb:latest"}
	} else if set, err = images.EnsureSet(ctx, root, t.Logf); err != nil {
		t.Fatalf("images: %v", err)
	}
	t.Logf("images ready in %s", time.Since(t0).Round(100*time.Millisecond))

	eng, ok := engines[*flagEngine]
	if !ok {
		t.Fatalf("-chaos.engine %q: want postgres or mariadb", *flagEngine)
	}
	switch *flagFence {
	case "auto", "on", "off", "both":
	default:
		t.Fatalf("-chaos.fence %q: want auto, on, off or both", *flagFence)
	}
	switch *flagFast {
	case "on", "off", "both":
	default:
		t.Fatalf("-chaos.fast-takeover %q: want on, off or both", *flagFast)
	}
	s := newSuite(t, set, eng)
	for _, sc := range scenarios {
		if selected(sc) {
			m := nodeModes(sc)[0]
			s.fencing, s.fast = m.fencing, m.fast
			break
		}
	}
	s.recreateNodes([]string{s.zkAll(), s.zkAll()})
	if code, out := s.zkfenceCheck(s.nodes[0]); code != 0 {
		t.Fatalf("zkfence check refuses the suite's profile: exit %d\n%s", code, out)
	} else {
		t.Logf("zkfence check:\n%s", out)
	}
	s.createTable()

	rep := &report{seed: seed, trials: *flagTrials, started: time.Now(), engine: eng.title}
	defaultNodes := true
	for _, sc := range scenarios {
		if !selected(sc) {
			continue
		}
		for _, m := range nodeModes(sc) {
			fencing := m.fencing
			name := sc.name
			if *flagFence == "both" {
				name += "/fence-" + onOff(fencing)
			}
			if *flagFast == "both" {
				name += "/" + m.String()
			}
			t.Run(name, func(t *testing.T) {
				s.t = t
				defer func() { s.t = nil }()
				if sc.setup != nil {
					s.fencing, s.fast = fencing, m.fast
					sc.setup(s, rng)
					defaultNodes = false
				} else if !defaultNodes || s.fencing != fencing || s.fast != m.fast {
					s.fencing, s.fast = fencing, m.fast
					s.recreateNodes([]string{s.zkAll(), s.zkAll()})
					defaultNodes = true
				}
				if sc.applies != nil {
					if ok, why := sc.applies(s); !ok {
						rep.notRun(sc, m, why)
						t.Skipf("NOT RUN ON THIS MACHINE: %s: %s", sc.name, why)
					}
				}
				var results []trialResult
				for i := 1; i <= *flagTrials; i++ {
					r := s.trial(sc, i, rng)
					results = append(results, r)
					t.Logf("%s", r.line())
					for _, p := range r.problems {
						t.Errorf("%s trial %d: %s", name, i, p)
					}
				}
				rep.add(sc, m, results)
			})
			s.t = t
		}
	}
	if r := s.fence.refusedRequests(); len(r) > 0 {
		t.Logf("the fence proxy refused: %q", r)
	}
	rep.finished = time.Now()
	md := rep.markdown()
	t.Logf("results:\n%s", md)
	out := outFile(eng)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err == nil {
		if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
			t.Errorf("writing %s: %v", out, err)
		}
	}
}

func (s *suite) createTable() {
	s.must(s.settle(2 * time.Minute))
	s.must(s.execOnHolder(s.eng.createTable, 30*time.Second))
}

// trialResult is what one trial measured.
type trialResult struct {
	scenario  string
	trial     int
	what      string
	holder    string
	newHolder string
	overlap   time.Duration
	overlapAt []string
	acked     int
	indet     int
	lost      int
	phantom   int
	regress   int
	porcupine string
	failover  time.Duration // fault -> first acknowledged write with a new token; -1 if none
	detection time.Duration // fault -> the holder's database no longer runs; -1 if it kept running
	maxGap    time.Duration // longest time without an acknowledged write
	duration  time.Duration
	fencing   bool            // the nodes ran with fence_docker
	kills     []string        // the nodes fence_docker killed during the trial
	fenceTook []time.Duration // the agent's time (off and its confirmation) of each confirmed fence
	fenceFail int             // FENCING FAILED / fencing failed lines
	fast      bool            // the nodes ran with --fast-takeover
	takeovers []time.Duration // each fast takeover: first failed probe to the holder's node deleted
	problems  []string
}

func (r trialResult) line() string {
	l := fmt.Sprintf("trial %d: %s on %s; overlap %s; acked %d (indeterminate %d), lost %d, phantom %d, token regressions %d, porcupine %s; detection %s, failover %s (to %s), longest write gap %s; trial took %s",
		r.trial, r.what, r.holder, r.overlap, r.acked, r.indet, r.lost, r.phantom, r.regress, r.porcupine,
		fmtDur(r.detection), fmtDur(r.failover), r.newHolder, r.maxGap.Round(time.Millisecond), r.duration.Round(100*time.Millisecond))
	if r.fencing {
		l += fmt.Sprintf("; fencing: fence_docker killed %v, confirmed fences took %v, fencing failed %d times", r.kills, r.fenceTook, r.fenceFail)
	}
	if r.fast {
		l += fmt.Sprintf("; fast takeovers %d (first failed probe to takeover: %v)", len(r.takeovers), r.takeovers)
	}
	return l
}

func fmtDur(d time.Duration) string {
	if d < 0 {
		return "-"
	}
	return d.Round(time.Millisecond).String()
}

// trial runs one fault: settle, write, inject, wait for the failover, heal,
// settle, check.
func (s *suite) trial(sc scenario, i int, rng *rand.Rand) trialResult {
	start := time.Now()
	s.heal()
	if err := s.settle(2 * time.Minute); err != nil {
		s.dumpLogs()
		s.t.Fatalf("before trial %d: %v", i, err)
	}
	if sc.prepare != nil {
		sc.prepare(s, rng)
	}
	holder, tok := s.holder()
	if holder == nil {
		s.t.Fatalf("before trial %d: no holder", i)
	}
	name := fmt.Sprintf("%s/%s/%s/%d", sc.name, onOff(s.fencing), nodeMode{s.fencing, s.fast}, i)
	r := trialResult{scenario: sc.name, trial: i, holder: holder.label, failover: -1, detection: -1, fencing: s.fencing, fast: s.fast}
	cl := s.startClient(name)
	if !waitUntil(20*time.Second, 50*time.Millisecond, func() bool { return countAcked(cl.snapshot()) >= 20 }) {
		cl.close()
		s.t.Fatalf("trial %d: the client gets no writes acknowledged by %s", i, holder.name)
	}
	time.Sleep(between(rng, 500*time.Millisecond, 3*time.Second))

	f := &fault{rng: rng, holder: holder}
	tFault := time.Now()
	sc.inject(s, f)
	r.what = f.what

	// Wait for a write acknowledged under a new token (a failover), or, when
	// the fault may leave the holder in place, for writes to flow again.
	newTok := func() (write, bool) {
		for _, w := range cl.snapshot() {
			if w.acked && w.start.After(tFault) && w.token != tok {
				return w, true
			}
		}
		return write{}, false
	}
	await := sc.await
	if sc.awaitT > 0 {
		await = *flagSessionTimeout + sc.awaitT
	}
	failoverWait := 60 * time.Second
	if d := 2**flagSessionTimeout + 10*time.Second; d > failoverWait {
		failoverWait = d
	}
	if sc.failover || s.fast && sc.fastFailover {
		if !waitUntil(failoverWait, 50*time.Millisecond, func() bool { _, ok := newTok(); return ok }) {
			r.problems = append(r.problems, fmt.Sprintf("no failover within %s", failoverWait))
		}
	} else if await > 0 {
		waitUntil(await, 50*time.Millisecond, func() bool { _, ok := newTok(); return ok })
	}
	if sc.end != nil {
		sc.end(s, f)
	}
	s.heal()
	if err := s.settle(2 * time.Minute); err != nil {
		r.problems = append(r.problems, "after the fault: "+err.Error())
	}
	tHealed := time.Now()
	waitUntil(20*time.Second, 50*time.Millisecond, func() bool {
		n := 0
		for _, w := range cl.snapshot() {
			if w.acked && w.start.After(tHealed) {
				n++
			}
		}
		return n >= 20
	})
	writes := cl.close()
	if w, ok := newTok(); ok {
		r.failover = w.end.Sub(tFault)
		r.newHolder = strings.TrimPrefix(w.node, "zkfence-chaos-"+s.run+"-")
	}

	rows, _, err := s.readRows(name, time.Minute)
	if err != nil {
		// Nothing can be said about the writes: not counted as lost.
		r.problems = append(r.problems, err.Error()+" (the writes are not checked)")
		r.acked, r.porcupine = countAcked(writes), "unchecked"
	} else {
		v := check(writes, rows)
		r.acked, r.indet, r.lost, r.phantom, r.regress = v.acked, v.indeterminate, v.lost, v.phantom, v.regressions
		r.porcupine = string(v.linearizable)
		r.problems = append(r.problems, v.problems...)
	}

	end := time.Now()
	w := s.obs.window(start, end)
	r.overlap = w.overlap
	for _, o := range w.overlaps {
		r.overlapAt = append(r.overlapAt, fmt.Sprintf("%s+%s (%s)", o.from.Sub(tFault).Round(time.Millisecond), o.to.Sub(o.from), o.nodes))
	}
	if r.overlap > 0 {
		r.problems = append(r.problems, fmt.Sprintf("I1: two databases ran at once for %s: %v", r.overlap, r.overlapAt))
	}
	if stop := w.stopOf(holder.label, tFault); !stop.IsZero() {
		r.detection = stop.Sub(tFault)
	}
	if w.maxGap > 100*time.Millisecond {
		s.t.Logf("warning: the observer's longest poll gap was %s", w.maxGap)
	}
	r.maxGap = maxAckGap(writes, tFault)
	r.duration = end.Sub(start)
	var panics []string
	r.fenceTook, r.takeovers, r.fenceFail, panics = s.trialLogs(start)
	r.kills = s.fence.killsSince(start, func(cid string) string { l, _ := s.nodeOfCID(cid); return l })
	if sc.fastFailover && r.fast && r.failover >= 0 && !slices.Contains(r.kills, holder.label) {
		// The holder still reached ZooKeeper: the lock can have changed
		// hands only through a fast takeover, which must fence it first.
		r.problems = append(r.problems, fmt.Sprintf("the lock went to %s but fence_docker never killed the holder %s (kills: %v)",
			r.newHolder, holder.label, r.kills))
	}
	for _, p := range panics {
		r.problems = append(r.problems, "the database found its data broken: "+p)
	}
	if len(r.problems) > 0 {
		s.dumpLogs()
	}
	if r.fenceFail > 0 {
		// Not a safety problem (nothing starts unfenced), but the cause
		// of a slow failover: the nodes' fencing and takeover lines.
		s.logFencing(start)
	}
	return r
}

func countAcked(ws []write) int {
	n := 0
	for _, w := range ws {
		if w.acked {
			n++
		}
	}
	return n
}

// maxAckGap is the longest time between two acknowledged writes around the
// fault.
func maxAckGap(ws []write, from time.Time) time.Duration {
	var gap time.Duration
	var last time.Time
	for _, w := range ws {
		if !w.acked {
			continue
		}
		if !last.IsZero() && w.end.After(from) {
			if g := w.end.Sub(last); g > gap {
				gap = g
			}
		}
		last = w.end
	}
	return gap
}

func (s *suite) dumpLogs() {
	for _, n := range s.nodes {
		s.t.Logf("--- %s (last lines):\n%s", n.name, n.logs(40))
	}
}

// report is the table of every scenario.
type report struct {
	engine            string // "PostgreSQL 15"
	seed              int64
	trials            int
	started, finished time.Time
	rows              []string
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return -1
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func (rep *report) add(sc scenario, m nodeMode, rs []trialResult) {
	fencing := m.fencing
	var overlapTrials, lost, regress, phantom, acked, notLin, fenced, fenceFail int
	var overlap time.Duration
	var fo, det, took, tko []time.Duration
	failovers := 0
	for _, r := range rs {
		if r.overlap > 0 {
			overlapTrials++
		}
		overlap += r.overlap
		lost += r.lost
		regress += r.regress
		phantom += r.phantom
		acked += r.acked
		if r.porcupine != "Ok" {
			notLin++
		}
		if r.failover >= 0 {
			fo = append(fo, r.failover)
			failovers++
		}
		if r.detection >= 0 {
			det = append(det, r.detection)
		}
		if len(r.fenceTook) > 0 {
			fenced++
			took = append(took, r.fenceTook...)
		}
		fenceFail += r.fenceFail
		tko = append(tko, r.takeovers...)
	}
	mx := func(ds []time.Duration) time.Duration {
		if len(ds) == 0 {
			return -1
		}
		return slices.Max(ds)
	}
	fencingCol := "off"
	if fencing {
		fencingCol = fmt.Sprintf("on: %d fenced, agent %s median, %s max; %d failed", fenced, fmtDur(median(took)), fmtDur(mx(took)), fenceFail)
	}
	modeCol := "lease"
	if m.fast {
		modeCol = fmt.Sprintf("fast takeover: %d taken over, probe to takeover %s median, %s max", len(tko), fmtDur(median(tko)), fmtDur(mx(tko)))
	}
	if !m.fast && sc.fastFailover {
		modeCol += " (no failover expected: the holder keeps its session)"
	}
	rep.rows = append(rep.rows, fmt.Sprintf("| %s | %s | %s | %s | %d | %d (%s) | %d | %d | %d | %d | %d/%d | %s | %s | %s | %s |",
		sc.name, modeCol, *flagSessionTimeout, fencingCol, len(rs), overlapTrials, overlap, lost, regress, phantom, notLin, failovers, len(rs),
		fmtDur(median(fo)), fmtDur(mx(fo)), fmtDur(median(det)), fmtDur(mx(det))))
}

// notRun records a scenario that does not apply on this machine.
func (rep *report) notRun(sc scenario, m nodeMode, why string) {
	rep.rows = append(rep.rows, fmt.Sprintf("| %s | %s | %s | %s | not run: %s | | | | | | | | | | |", sc.name, m, *flagSessionTimeout, onOff(m.fencing), why))
}

func (rep *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# zkfence chaos suite: results\n\n")
	fmt.Fprintf(&b, "Run %s, %d trials per scenario, seed %d, whole run %s. %s nodes on one shared\n",
		rep.started.UTC().Format(time.RFC3339), rep.trials, rep.seed, rep.finished.Sub(rep.started).Round(time.Second), rep.engine)
	fmt.Fprintf(&b, "directory (each through its own bindfs FUSE mount), a three-server ZooKeeper 3.8 ensemble (tickTime\n")
	fmt.Fprintf(&b, "500 ms, syncLimit 2), zkfence with T %s, h 500 ms, grace 1 s, probe 500 ms/2 s, lock-delay 2 s", *flagSessionTimeout)
	if *flagFast != "off" {
		fmt.Fprintf(&b, "; fast takeover (where the mode says so):\n--takeover-probe %s --takeover-after %d", *flagTakeoverProbe, *flagTakeoverAfter)
	}
	fmt.Fprintf(&b, ". See chaos/doc.go.\n\n")
	fmt.Fprintf(&b, "| scenario | mode | T | fencing | trials | trials with overlap (total) | lost acked writes | token regressions | phantom rows | not linearizable | failovers | failover median | failover max | detection median | detection max |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rep.rows {
		b.WriteString(r + "\n")
	}
	fmt.Fprintf(&b, "\nfailover: from the fault to the first write acknowledged under a new fencing token.\n")
	fmt.Fprintf(&b, "detection: from the fault to the observer seeing the old holder's database no longer running\n")
	fmt.Fprintf(&b, "(every process gone, or its container frozen); \"-\" when it never stopped (the fault did not cost the lock).\n")
	fmt.Fprintf(&b, "fencing: on when the nodes ran with Debian's fence_docker (--fence-required), reaching the Docker API\n")
	fmt.Fprintf(&b, "through the suite's TLS proxy; \"fenced\" counts the trials with a confirmed fence, and the agent's time\n")
	fmt.Fprintf(&b, "is off plus its confirmation, as zkfence logged it. A confirmed fence skips the lock-delay (2 s).\n")
	fmt.Fprintf(&b, "mode: lease when a new holder waits for ZooKeeper to expire the old one's session (or for its release);\n")
	fmt.Fprintf(&b, "fast takeover when the nodes ran with --fast-takeover (fence_docker): \"taken over\" counts the fast\n")
	fmt.Fprintf(&b, "takeovers zkfence logged, timed from the waiter's first failed probe to the holder's lock node deleted.\n")
	return b.String()
}
