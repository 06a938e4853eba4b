package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRatioCI(t *testing.T) {
	b := []float64{100, 102, 98, 101, 99, 100}
	w := []float64{99, 101, 97, 100, 98, 99}
	r := ratioCI(b, w)
	if r.Value < 0.98 || r.Value > 1 || r.Lo > r.Value || r.Hi < r.Value || r.Hi-r.Lo > 0.06 {
		t.Fatalf("ratio %+v", r)
	}
	if v := r.verdict(0.98, len(b)); v != "can't tell" && v != "yes" {
		t.Fatalf("verdict %q for %+v", v, r)
	}
	if v := (interval{Value: 0.5, Lo: 0.5, Hi: 0.5}).verdict(0.98, 2); v != "can't tell" {
		t.Fatalf("two pairs: verdict %q, want can't tell", v)
	}
	if v := (interval{Value: 0.9, Lo: 0.85, Hi: 0.95}).verdict(0.98, 3); v != "NO" {
		t.Fatalf("verdict %q, want NO", v)
	}
}

// TestRatioCIFewPairs: three noisy pairs must not claim a verdict. These
// are a real cell of a loaded run (MariaDB read-only, 1000 IOPS), whose
// bootstrap interval [0.746, 0.902] said NO from three pairs.
func TestRatioCIFewPairs(t *testing.T) {
	r := ratioCI([]float64{898, 909, 583}, []float64{670, 820, 452})
	if v := r.verdict(0.98, 3); v != "can't tell" {
		t.Fatalf("verdict %q for %+v, want can't tell", v, r)
	}
	// The geometric mean of 0.746, 0.902, 0.775, and t(2) = 4.303 wide.
	if r.Value < 0.80 || r.Value > 0.81 || r.Lo > 0.65 || r.Hi < 1.0 {
		t.Fatalf("ratio %+v", r)
	}
	// Many consistent pairs: a narrow interval that tells.
	var b, w []float64
	for i := range 8 {
		b = append(b, 1000+float64(i%3))
		w = append(w, 995+float64(i%2))
	}
	if r := ratioCI(b, w); r.verdict(0.98, 8) != "yes" || r.Hi-r.Lo > 0.01 {
		t.Fatalf("8 steady pairs: %+v", r)
	}
	if r := ratioCI([]float64{100, 0, 100}, []float64{100, 100, 100}); r.verdict(0.98, 3) != "can't tell" {
		t.Fatalf("a zero run: %+v", r)
	}
}

// TestStorageReport writes the Markdown and the chart from made-up runs.
func TestStorageReport(t *testing.T) {
	tiers := []*tier{{name: "local", note: "disk"}, {name: "fuse", note: "bindfs"}, {name: "iops500", note: "loop"}}
	configs := dbConfigs()
	cells := map[cellKey]*cell{}
	for i, c := range configs {
		for j, w := range c.workloads {
			for k, tr := range tiers {
				base := float64(1000*(i+1) + 100*j - 200*k)
				cells[cellKey{tr.name, c.name, w.name}] = &cell{bare: []float64{base, base + 10, base - 10}, zk: []float64{base - 5, base + 5, base}}
			}
		}
	}
	dir := t.TempDir()
	r := &storageReport{tiers: tiers, configs: configs, cells: cells, d: 5 * time.Second, reps: 3, took: time.Minute, date: time.Now()}
	rows, err := r.write(dir)
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "storage.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| MariaDB, buffer pool 128M | sysbench oltp_write_only | iops500 |", "What the storage costs", "[0."} {
		if !strings.Contains(string(md), want) {
			t.Errorf("storage.md lacks %q", want)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "storage.png")); err != nil || st.Size() < 1000 {
		t.Fatalf("storage.png: %v", err)
	}
	if len(rows) != 1 || !strings.Contains(rows[0].Value, " / ") {
		t.Fatalf("rows %+v", rows)
	}
	for _, want := range []string{"pooled over cells", "| tier iops500 | 24 |", "| the whole table |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("storage.md lacks %q", want)
		}
	}
	// Drawn again from storage.json, the table is the same.
	again := t.TempDir()
	if err := rerenderStorage(filepath.Join(dir, "storage.json"), again); err != nil {
		t.Fatal(err)
	}
	if md2, err := os.ReadFile(filepath.Join(again, "storage.md")); err != nil || string(md2) != string(md) {
		t.Fatalf("storage.md drawn again from storage.json differs (%v):\n%s", err, md2)
	}
	if os.Getenv("STORAGE_PNG") != "" {
		b, _ := os.ReadFile(filepath.Join(dir, "storage.png"))
		os.WriteFile(os.Getenv("STORAGE_PNG"), b, 0o644)
	}
}
