package restorebench

import (
	"context"
	"log/slog"
	"os"
	"testing"
)

// TestMeasureRestores: a small run restores the synthetic backup (so its
// manifest is one restore.Run accepts) and reports positive rates.
func TestMeasureRestores(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 3 x 5 x 8 MB")
	}
	tp, err := Measure(context.Background(), t.TempDir(), 8, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if tp.Files == 0 || tp.Bytes < 7e6 || tp.OursMBps <= 0 || tp.TarMBps <= 0 || tp.TarSyncMBps <= 0 {
		t.Fatalf("implausible measurement: %+v", tp)
	}
}

// BenchmarkRestoreThroughput compares restore.Run with tar -x of the same
// 300 MB (go test -run '^$' -bench RestoreThroughput -benchtime 1x ./bench/internal/restorebench/).
func BenchmarkRestoreThroughput(b *testing.B) {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	for b.Loop() {
		tp, err := Measure(context.Background(), b.TempDir(), 300, log)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(tp.OursMBps, "ours-MB/s")
		b.ReportMetric(tp.TarMBps, "tar-MB/s")
		b.ReportMetric(tp.TarSyncMBps, "tar+sync-MB/s")
		b.ReportMetric(tp.Ratio, "ratio")
		b.ReportMetric(tp.RatioSync, "ratio-vs-tar+sync")
	}
}
