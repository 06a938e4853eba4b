package health

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// outcomeMetrics are the outcomes of restores and scheduled backups. A
// failed restore ends the run (exit 94), so its counter is scraped only if
// a scrape comes first; the backup timestamps let an alert say "the latest
// backup failed" until one succeeds, whatever the backup interval.
type outcomeMetrics struct {
	restoreFails  prometheus.Counter
	backupFails   prometheus.Counter
	backupOK      prometheus.Gauge
	backupFailAt  prometheus.Gauge
	backupSuccess prometheus.Counter
}

func newOutcomeMetrics(r *prometheus.Registry) *outcomeMetrics {
	m := &outcomeMetrics{
		restoreFails: prometheus.NewCounter(prometheus.CounterOpts{Name: "zkfence_restore_failures_total",
			Help: "Restores at start that failed (zkfence then exits 94)."}),
		backupFails: prometheus.NewCounter(prometheus.CounterOpts{Name: "zkfence_backup_failures_total",
			Help: "Scheduled backups (--backup-every) that failed."}),
		backupSuccess: prometheus.NewCounter(prometheus.CounterOpts{Name: "zkfence_backups_total",
			Help: "Scheduled backups (--backup-every) that completed."}),
		backupOK: prometheus.NewGauge(prometheus.GaugeOpts{Name: "zkfence_backup_last_success_timestamp_seconds",
			Help: "When the latest scheduled backup that completed ended (Unix time; 0: none yet)."}),
		backupFailAt: prometheus.NewGauge(prometheus.GaugeOpts{Name: "zkfence_backup_last_failure_timestamp_seconds",
			Help: "When the latest scheduled backup that failed ended (Unix time; 0: none yet)."}),
	}
	r.MustRegister(m.restoreFails, m.backupFails, m.backupSuccess, m.backupOK, m.backupFailAt)
	return m
}

// RestoreFailed records a restore at start that failed (not one that found
// no backup, nor one cancelled because zkfence is stopping).
func (s *State) RestoreFailed() {
	s.metricsDo(func(m *Metrics) { m.outcomes.restoreFails.Inc() })
}

// BackedUp records the outcome of a scheduled backup that ended at "at"
// (not one cancelled because the schedule stopped).
func (s *State) BackedUp(err error, at time.Time) {
	s.metricsDo(func(m *Metrics) {
		if err != nil {
			m.outcomes.backupFails.Inc()
			m.outcomes.backupFailAt.Set(float64(at.UnixNano()) / 1e9)
			return
		}
		m.outcomes.backupSuccess.Inc()
		m.outcomes.backupOK.Set(float64(at.UnixNano()) / 1e9)
	})
}
