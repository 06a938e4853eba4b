package main

// storage.json: the storage table's runs, as measured, so that the table
// and the chart can be drawn again (-storage-rerender) when the report
// changes, without measuring again for half an hour.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

type storageRecord struct {
	Date  time.Time     `json:"date"`
	Took  time.Duration `json:"took_ns"`
	Run   time.Duration `json:"run_ns"` // each measured client run
	Reps  int           `json:"reps"`
	Loads []float64     `json:"loads"`
	Tiers []tierRecord  `json:"tiers"`
	Cells []cellRecord  `json:"cells"`
	Note  string        `json:"note,omitempty"`
}

type tierRecord struct{ Name, Note string }

type cellRecord struct {
	Tier, Config, Workload string
	Bare, Zkfence          []float64
}

func (r *storageReport) record() storageRecord {
	rec := storageRecord{Date: r.date, Took: r.took, Run: r.d, Reps: r.reps, Loads: r.loads, Note: r.note}
	for _, t := range r.tiers {
		rec.Tiers = append(rec.Tiers, tierRecord{t.name, t.note})
	}
	r.each(func(c dbConfig, w workload, t *tier, x *cell) {
		rec.Cells = append(rec.Cells, cellRecord{t.name, c.name, w.name, x.bare, x.zk})
	})
	return rec
}

// rerenderStorage draws storage.md and storage.png in dir again from a
// storage.json.
func rerenderStorage(jsonPath, dir string) error {
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		return err
	}
	var rec storageRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return fmt.Errorf("%s: %w", jsonPath, err)
	}
	r := &storageReport{cells: map[cellKey]*cell{}, d: rec.Run, reps: rec.Reps, took: rec.Took, loads: rec.Loads, date: rec.Date, note: rec.Note}
	for _, t := range rec.Tiers {
		r.tiers = append(r.tiers, &tier{name: t.Name, note: t.Note})
	}
	used := map[string]bool{}
	for _, c := range rec.Cells {
		r.cells[cellKey{c.Tier, c.Config, c.Workload}] = &cell{bare: c.Bare, zk: c.Zkfence}
		used[c.Config] = true
	}
	for _, c := range dbConfigs() {
		if used[c.name] {
			r.configs = append(r.configs, c)
		}
	}
	if len(r.tiers) == 0 || len(r.configs) == 0 {
		return fmt.Errorf("%s: no tiers or no known server configurations", jsonPath)
	}
	if _, err := r.write(dir); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: storage table drawn again from %s into %s\n", jsonPath, filepath.Join(dir, "storage.md"))
	return nil
}
