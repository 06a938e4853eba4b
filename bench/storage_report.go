package main

// The storage table's outputs: storage.md (every cell with its intervals,
// and what each tier costs against the local disk) and storage.png (one
// bar group per workload, one bar per tier and arm, relative to the bare
// server on the local disk).

import (
	"encoding/json"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// ratioGoal is the bar for zkfence/bare.
const ratioGoal = 0.98

type storageReport struct {
	tiers   []*tier
	configs []dbConfig
	cells   map[cellKey]*cell
	d       time.Duration
	reps    int
	took    time.Duration
	loads   []float64
	date    time.Time // when the table was finished
	note    string    // how it was made, when not by one plain run (storage.json)
}

func (r *storageReport) write(dir string) ([]row, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	md, counts := r.markdown()
	if err := os.WriteFile(filepath.Join(dir, "storage.md"), []byte(md), 0o644); err != nil {
		return nil, err
	}
	rec, err := json.MarshalIndent(r.record(), "", " ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "storage.json"), append(rec, '\n'), 0o644); err != nil {
		return nil, err
	}
	if err := r.chart(filepath.Join(dir, "storage.png")); err != nil {
		return nil, err
	}
	return []row{{"storage table: zkfence/bare >= 0.98 (95% CI above it) / can't tell / below", counts, ">= 0.98 where the interval tells",
		fmt.Sprintf("%d cells (%d tiers), %d runs of %s per arm, A B B A; took %s; %s/storage.md and storage.png",
			len(r.cells), len(r.tiers), r.reps, r.d, r.took.Round(time.Second), dir)}}, nil
}

func (r *storageReport) markdown() (string, string) {
	var b strings.Builder
	fmt.Fprintf(&b, "# Storage table: local disk against network-like storage, bare and through zkfence\n\n")
	fmt.Fprintf(&b, "%s. Each cell: %d server runs bare and %d through `zkfence run`, interleaved A B, B A, ...; each run measures every workload of its server configuration for %s, single client thread, after warming the cache. Median transactions/s with its 95%% bootstrap interval. zkfence / bare: the geometric mean of the %d pair ratios (run i through zkfence over run i bare, adjacent in time), with its 95%% interval (Student's t on the log ratios); the verdict says yes when the whole interval is at or above %.2f, NO when it is all below, and can't tell otherwise. The whole table took %s on %d CPUs shared with other work (1-min load %s during the runs).\n\n",
		r.date.UTC().Format(time.RFC3339), r.reps, r.reps, r.d, r.reps, ratioGoal, r.took.Round(time.Second), runtime.NumCPU(), loadRange(r.loads))
	if r.note != "" {
		fmt.Fprintf(&b, "%s\n\n", r.note)
	}
	fmt.Fprintf(&b, "Tiers:\n\n")
	for _, t := range r.tiers {
		fmt.Fprintf(&b, "- **%s**: %s\n", t.name, t.note)
	}
	fmt.Fprintf(&b, "\nThrough zkfence, a tier with a mount point (every tier but local) is guarded as in production: `--mount` with its type, so zkfence probes it every 2 s (statfs, write, fsync, read) and writes and fsyncs its fence record's heartbeat every 1 s, in the tier's cgroup, so under its IOPS limit. On local, zkfence holds the lock and supervises the server, with no volume to guard (a local persistent volume).\n")
	fmt.Fprintf(&b, "\nServers: MariaDB 10.11, innodb_flush_method=O_DIRECT, innodb_flush_log_at_trx_commit=1, sysbench %d tables x %d rows; PostgreSQL 15, synchronous_commit=on, WAL with O_DIRECT (wal_level=minimal, open_datasync), pgbench scale %d. The IOPS limit is on only while a client is measured.\n\n", *sbTables, *sbRows, *pgScale)
	fmt.Fprintf(&b, "| server | workload | tier | bare tps | zkfence tps | zkfence / bare | >= %.2f? |\n|---|---|---|---|---|---|---|\n", ratioGoal)
	yes, cant, no := 0, 0, 0
	r.each(func(c dbConfig, w workload, t *tier, x *cell) {
		ratio := ratioCI(x.bare, x.zk)
		v := ratio.verdict(ratioGoal, min(len(x.bare), len(x.zk)))
		switch v {
		case "yes":
			yes++
		case "NO":
			no++
		default:
			cant++
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %.3f [%.3f, %.3f] | %s |\n", c.name, w.name, t.name,
			fmtCI(medianCI(x.bare)), fmtCI(medianCI(x.zk)), ratio.Value, ratio.Lo, ratio.Hi, v)
	})
	fmt.Fprintf(&b, "\n## What the storage costs: bare throughput relative to the local disk\n\n| server | workload |")
	for _, t := range r.tiers {
		fmt.Fprintf(&b, " %s |", t.name)
	}
	fmt.Fprintf(&b, "\n|---|---|%s\n", strings.Repeat("---|", len(r.tiers)))
	for _, c := range r.configs {
		for _, w := range c.workloads {
			fmt.Fprintf(&b, "| %s | %s |", c.name, w.name)
			for _, t := range r.tiers {
				fmt.Fprintf(&b, " %s |", r.relative(c, w, t))
			}
			b.WriteString("\n")
		}
	}
	counts := fmt.Sprintf("%d / %d / %d", yes, cant, no)
	fmt.Fprintf(&b, "\nzkfence/bare >= %.2f with the whole interval above it: %d cells; interval too wide to tell: %d; interval below: %d.\n", ratioGoal, yes, cant, no)
	r.pooled(&b)
	fmt.Fprintf(&b, "\nRuns (transactions/s, in order):\n\n")
	r.each(func(c dbConfig, w workload, t *tier, x *cell) {
		fmt.Fprintf(&b, "- %s, %s, %s: bare [%s], zkfence [%s]\n", c.name, w.name, t.name, listF(x.bare), listF(x.zk))
	})
	return b.String(), counts
}

// pooled writes zkfence/bare over many cells at once: every pair of the
// cells of a tier, of a server, and of the whole table, as one sample of
// pair ratios (geometric mean, Student's t). It answers what one cell's
// few runs cannot: whether zkfence costs anything on that storage or that
// server on average, with an interval narrow enough to tell.
func (r *storageReport) pooled(b *strings.Builder) {
	type group struct {
		name   string
		keep   func(dbConfig, *tier) bool
		bs, ws []float64
	}
	var groups []*group
	for _, t := range r.tiers {
		groups = append(groups, &group{name: "tier " + t.name, keep: func(_ dbConfig, x *tier) bool { return x == t }})
	}
	for _, c := range r.configs {
		groups = append(groups, &group{name: c.name, keep: func(x dbConfig, _ *tier) bool { return x.name == c.name }})
	}
	groups = append(groups, &group{name: "the whole table", keep: func(dbConfig, *tier) bool { return true }})
	r.each(func(c dbConfig, _ workload, t *tier, x *cell) {
		n := min(len(x.bare), len(x.zk))
		for _, g := range groups {
			if g.keep(c, t) {
				g.bs, g.ws = append(g.bs, x.bare[:n]...), append(g.ws, x.zk[:n]...)
			}
		}
	})
	fmt.Fprintf(b, "\n## zkfence / bare pooled over cells\n\nEvery pair of the cells named, as one sample (geometric mean of the pair ratios, Student's t on their logs).\n\n| cells | pairs | zkfence / bare | >= %.2f? |\n|---|---|---|---|\n", ratioGoal)
	for _, g := range groups {
		ci := ratioCI(g.bs, g.ws)
		fmt.Fprintf(b, "| %s | %d | %.3f [%.3f, %.3f] | %s |\n", g.name, len(g.bs), ci.Value, ci.Lo, ci.Hi, ci.verdict(ratioGoal, len(g.bs)))
	}
}

// each visits the cells in table order.
func (r *storageReport) each(fn func(dbConfig, workload, *tier, *cell)) {
	for _, c := range r.configs {
		for _, w := range c.workloads {
			for _, t := range r.tiers {
				if x := r.cells[cellKey{t.name, c.name, w.name}]; x != nil {
					fn(c, w, t, x)
				}
			}
		}
	}
}

// relative is a tier's bare median over the first tier's, with its
// interval (the tiers' runs are independent: resampled separately).
func (r *storageReport) relative(c dbConfig, w workload, t *tier) string {
	base := r.cells[cellKey{r.tiers[0].name, c.name, w.name}]
	x := r.cells[cellKey{t.name, c.name, w.name}]
	if base == nil || x == nil {
		return ""
	}
	m := medianCI(x.bare)
	return fmt.Sprintf("%.0f tps (%.2fx)", m.Value, m.Value/medianF(base.bare))
}

func fmtCI(i interval) string {
	return fmt.Sprintf("%.0f [%.0f, %.0f]", i.Value, i.Lo, i.Hi)
}

func loadRange(xs []float64) string {
	if len(xs) == 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.1f-%.1f", minF(xs), maxF(xs))
}

// tierColors are the bare bars' colours; zkfence's bars are lighter.
var tierColors = []color.RGBA{{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255}, {148, 103, 189, 255}}

func lighter(c color.RGBA) color.RGBA {
	return color.RGBA{c.R + (255-c.R)/2, c.G + (255-c.G)/2, c.B + (255-c.B)/2, 255}
}

// chart draws one bar group per workload: each tier bare and through
// zkfence, as a fraction of the bare server on the first tier.
func (r *storageReport) chart(path string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Throughput relative to the bare server on %s (median of %d runs of %s)", r.tiers[0].name, r.reps, r.d)
	p.Y.Label.Text = "transactions/s, relative"
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.Padding = vg.Points(2)
	top := 0.0
	var labels []string
	for _, c := range r.configs {
		for _, w := range c.workloads {
			labels = append(labels, shortLabel(c, w))
		}
	}
	n := 2 * len(r.tiers)
	width := vg.Points(7)
	for ti, t := range r.tiers {
		for arm := range 2 {
			var vals plotter.Values
			for _, c := range r.configs {
				for _, w := range c.workloads {
					base := r.cells[cellKey{r.tiers[0].name, c.name, w.name}]
					x := r.cells[cellKey{t.name, c.name, w.name}]
					v := 0.0
					if base != nil && x != nil && medianF(base.bare) > 0 {
						v = medianF([][]float64{x.bare, x.zk}[arm]) / medianF(base.bare)
					}
					vals = append(vals, v)
					top = max(top, v)
				}
			}
			bars, err := plotter.NewBarChart(vals, width)
			if err != nil {
				return err
			}
			col := tierColors[ti%len(tierColors)]
			if arm == 1 {
				col = lighter(col)
			}
			bars.Color, bars.LineStyle.Width = col, 0
			bars.Offset = width * vg.Length(2*ti+arm-n/2)
			p.Add(bars)
			p.Legend.Add(t.name+" "+[]string{"bare", "zkfence"}[arm], bars)
		}
	}
	p.NominalX(labels...)
	p.Y.Min, p.Y.Max = 0, top*1.45 // room for the legend
	p.Add(plotter.NewGrid())
	return p.Save(vg.Length(len(labels))*vg.Points(float64(n)*7+40)+vg.Points(60), 6*vg.Inch, path)
}

// shortLabel is a bar group's label, on two lines.
func shortLabel(c dbConfig, w workload) string {
	l := strings.NewReplacer("sysbench ", "", "oltp_", "", "_", " ", " --skip-trx=on", ",\nno BEGIN", " (select only)", "").Replace(w.name)
	switch {
	case strings.Contains(c.name, "holds"):
		l += "\n(big pool)"
	case strings.HasPrefix(c.name, "MariaDB"):
		l += "\n(128M pool)"
	case strings.HasPrefix(c.name, "PostgreSQL"):
		l = "PostgreSQL\n" + strings.TrimPrefix(l, "pgbench ")
	}
	return l
}
