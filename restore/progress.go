package restore

import (
	"log/slog"
	"time"
)

// progress logs how a long restore is going: bytes, rate, and an ETA when
// the total is known. It logs nothing for restores shorter than one period.
type progress struct {
	stop chan struct{}
	done chan struct{}
}

// startProgress logs measure() every period until stop is called; total is
// 0 when unknown (a script).
func startProgress(log *slog.Logger, what string, every time.Duration, total int64, measure func() int64) *progress {
	p := &progress{stop: make(chan struct{}), done: make(chan struct{})}
	start := time.Now()
	go func() {
		defer close(p.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				logProgress(log, what, measure(), total, time.Since(start))
			}
		}
	}()
	return p
}

// Stop ends the logging and waits for the logger goroutine.
func (p *progress) Stop() {
	close(p.stop)
	<-p.done
}

func logProgress(log *slog.Logger, what string, n, total int64, elapsed time.Duration) {
	rate := mbps(n, elapsed)
	attrs := []any{"what", what, "bytes", n, "mb_per_s", rate, "elapsed", elapsed.Round(time.Second)}
	if total > 0 {
		attrs = append(attrs, "total", total, "percent", round1(100*float64(n)/float64(total)))
		if n > 0 && n < total {
			eta := time.Duration(float64(elapsed) * float64(total-n) / float64(n))
			attrs = append(attrs, "eta", eta.Round(time.Second))
		}
	}
	log.Info("restore progress", attrs...)
}

// mbps is n bytes over d in MB/s (10^6 bytes), to one decimal.
func mbps(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return round1(float64(n) / 1e6 / d.Seconds())
}

func round1(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }
