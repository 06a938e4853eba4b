package restore

import (
	"context"
	"testing"
)

// BenchmarkRestoreThroughput compares Run with tar -x of the same 300 MB
// (go test -run '^$' -bench RestoreThroughput -benchtime 1x ./restore/).
func BenchmarkRestoreThroughput(b *testing.B) {
	log, _ := testLogger(b)
	for b.Loop() {
		tp, err := BenchThroughput(context.Background(), b.TempDir(), 300, log)
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
