// Command bench measures zkfence (make bench): it prints a table and writes
// it to a file. Every figure comes from real processes: the zkfence binary
// under test, a real ZooKeeper on loopback, and shell children that record
// the instants that matter.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v3/load"

	"github.com/zkfence/zkfence/internal/zkserver"
)

// A measurement runs its trials and returns rows for the table.
type measurement struct {
	name string
	run  func(env *env) ([]row, error)
}

// row is one line of the results table.
type row struct {
	Metric string
	Value  string
	Goal   string
	Note   string
}

// env is what every measurement gets.
type env struct {
	zkfence string
	zk      *zkserver.Server
	trials  int
	work    string
}

func main() {
	bin := flag.String("zkfence", "bin/zkfence", "zkfence binary to measure")
	out := flag.String("out", "bench/results/latest.md", "file to write the table to")
	trials := flag.Int("trials", 20, "trials per measurement")
	only := flag.String("only", "", "run only measurements whose name contains this")
	flag.Parse()
	if *storageAgain != "" {
		if err := rerenderStorage(*storageAgain, *storageOut); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*bin, *out, *trials, *only); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(bin, out string, trials int, only string) error {
	abs, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(abs); err != nil {
		return fmt.Errorf("zkfence binary: %w (run make build)", err)
	}
	work, err := os.MkdirTemp("", "zkfence-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	// tickTime 200ms with sessions up to 10s: the profile the fast flags use.
	zk, stop, err := zkserver.StartMain(zkserver.Options{TickTime: 200 * time.Millisecond, MaxSessionTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer stop()
	e := &env{zkfence: abs, zk: zk, trials: trials, work: work}
	defer runCleanups()

	rows := []row{loadRow("at start")}
	for _, m := range measurements {
		if only != "" && !strings.Contains(m.name, only) {
			continue
		}
		fmt.Fprintf(os.Stderr, "bench: %s (%d trials)\n", m.name, trials)
		began := time.Now()
		r, err := m.run(e)
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		fmt.Fprintf(os.Stderr, "bench: %s done in %v\n", m.name, time.Since(began).Round(time.Second))
		rows = append(rows, r...)
	}
	rows = append(rows, loadRow("at end"))
	table := render(rows, trials)
	fmt.Print(table)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, []byte(table), 0o644)
}

var measurements = []measurement{
	{"handoff on clean exit", handoffOnExit},
	{"cut connection", cutConnection},
	// Issue 11: zkfence next to what an operator would use instead.
	{"peer handoff on clean exit (zkfence, etcdctl lock)", handoffPeers},
	{"peer node death (zkfence, etcdctl lock)", nodeDeathPeers},
	{"peer lock-loss safety (zkfence, etcdctl lock)", lockLossSafety},
	{"mount loss", mountLossDetection},
	{"restore throughput", restoreThroughput},
	{"frozen holder", frozenHolder},
	{"overhead start-up (zkfence, tini, dumb-init)", startupOverhead},
	{"overhead footprint (zkfence, tini, dumb-init)", footprints},
	{"overhead throughput postgres", pgThroughput},
	{"overhead throughput mariadb", mariadbThroughput},
	{"scale (1,000 lock clients)", scale},
	// Issue 19: local disk against network-like storage, bare and through zkfence.
	{"storage table (MariaDB sysbench, PostgreSQL pgbench)", storageTable},
}

// loadRow records the machine's load: it is shared with other work.
func loadRow(when string) row {
	v := "unknown"
	if l, err := load.Avg(); err == nil {
		v = fmt.Sprintf("%.2f %.2f %.2f", l.Load1, l.Load5, l.Load15)
	}
	return row{"machine load " + when, v, "",
		fmt.Sprintf("1/5/15-min load averages, %d CPUs; other test runs share the machine", runtime.NumCPU())}
}

func render(rows []row, trials int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# zkfence benchmarks\n\n%s, %d trials per measurement, ZooKeeper 3.8 standalone on loopback (tickTime 200ms).\n\n",
		time.Now().UTC().Format(time.RFC3339), trials)
	fmt.Fprintf(&b, "| metric | value | goal | note |\n|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.Metric, r.Value, r.Goal, r.Note)
	}
	return b.String()
}
