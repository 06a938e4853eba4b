package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/zkfence/zkfence/bench/internal/fsbench"
	"github.com/zkfence/zkfence/bench/internal/restorebench"
	"github.com/zkfence/zkfence/fsguard"
)

// mountLossDetection measures, at zkfence's default probe settings
// (interval 2s, timeout 10s, grace 1s), the time from cutting a bindfs
// mount (standing in for a network filesystem) to the child confirmed dead:
// ENOTCONN (FUSE daemon killed) and a hung mount (daemon SIGSTOPped, like a
// hard-mounted NFS whose server is gone). The cut falls at a random phase of
// the probe interval. A hung trial takes about 11s, so it runs slowTrials.
func mountLossDetection(e *env) ([]row, error) {
	opts := fsbench.Options{Interval: fsguard.DefaultProbeInterval, Timeout: fsguard.DefaultProbeTimeout, Grace: time.Second}
	var rows []row
	for _, c := range []struct {
		cut    fsbench.Cut
		trials int
		what   string
	}{
		{fsbench.CutKill, e.trials, "mount loss (ENOTCONN, FUSE daemon killed) -> child dead"},
		{fsbench.CutFreeze, *slowTrials, "mount loss (hung FUSE, daemon SIGSTOPped) -> child dead"},
	} {
		o := opts
		o.Trials = c.trials
		res, err := fsbench.Detection(c.cut, o)
		if err != nil {
			return nil, err
		}
		bound := o.Interval + o.Timeout + o.Grace
		rows = append(rows, row{c.what + ", median", ms(res.Death.Median), fmt.Sprintf("< interval+timeout+grace %s", bound),
			fmt.Sprintf("max %s; detection median %s; %d trials, probe %s/%s", ms(res.Death.Max), ms(res.Detect.Median), c.trials, o.Interval, o.Timeout)})
	}
	st, err := fsbench.Startup(fsbench.Options{Trials: e.trials}, 1024)
	if err != nil {
		return nil, err
	}
	rows = append(rows,
		row{"storage checks at start-up, shared FUSE mount, median", ms(st.Shared.Median), "(report)", fmt.Sprintf("max %s; mount table, statfs, write+fsync+read probe", ms(st.Shared.Max))},
		row{"storage checks at start-up, clean 1 GiB ext4 device, median", ms(st.Device.Median), "(report)", fmt.Sprintf("max %s; checks, e2fsck -p, mount", ms(st.Device.Max))})
	return rows, nil
}

// restoreThroughput compares restore.Run (restorebench) (copy, SHA-256 of every file,
// fsync, rename into place) with plain tar -x of the same 300 MB on the same
// disk, alternating runs.
func restoreThroughput(e *env) ([]row, error) {
	tp, err := restorebench.Measure(context.Background(), e.work, 300, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return nil, err
	}
	return []row{
		{"restore throughput / tar -x", fmt.Sprintf("%.2f", tp.Ratio), "(report)",
			fmt.Sprintf("%.0f vs %.0f MB/s; %d MB in %d files; restore verifies SHA-256 and fsyncs, tar does neither", tp.OursMBps, tp.TarMBps, tp.Bytes>>20, tp.Files)},
		{"restore throughput / (tar -x + sync)", fmt.Sprintf("%.2f", tp.RatioSync), "(report)",
			fmt.Sprintf("%.0f vs %.0f MB/s: both durable at the end", tp.OursMBps, tp.TarSyncMBps)},
	}, nil
}
