package health

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are zkfence's Prometheus metrics, on a registry of their own (plus
// the Go and process collectors).
type Metrics struct {
	registry     *prometheus.Registry
	lockHeld     prometheus.Gauge
	token        prometheus.Gauge
	acquisitions prometheus.Counter
	losses       *prometheus.CounterVec
	waitingAhead prometheus.Gauge
	renewRTT     prometheus.Histogram
	renewFails   prometheus.Counter
	probeLatency prometheus.Histogram
	probeFails   prometheus.Counter
	childStarts  prometheus.Counter
	restoreSecs  prometheus.Gauge
	restoreBytes prometheus.Gauge
	outcomes     *outcomeMetrics
}

func newMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		lockHeld: prometheus.NewGauge(prometheus.GaugeOpts{Name: "zkfence_lock_held",
			Help: "1 while this process holds the lock."}),
		token: prometheus.NewGauge(prometheus.GaugeOpts{Name: "zkfence_fencing_token",
			Help: "The fencing token (lock node czxid) of the current or last hold."}),
		acquisitions: prometheus.NewCounter(prometheus.CounterOpts{Name: "zkfence_lock_acquisitions_total",
			Help: "Times the lock was acquired."}),
		losses: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "zkfence_child_stops_total",
			Help: "Times the child was stopped, by cause: lock, mount, fenced, signal, exit."}, []string{"cause"}),
		waitingAhead: prometheus.NewGauge(prometheus.GaugeOpts{Name: "zkfence_waiting_ahead",
			Help: "Contenders ahead of this process while it waits for the lock."}),
		renewRTT: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "zkfence_heartbeat_rtt_seconds",
			Help: "Round trip of lease renewals.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		renewFails: prometheus.NewCounter(prometheus.CounterOpts{Name: "zkfence_heartbeat_failures_total",
			Help: "Lease renewals that failed."}),
		probeLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "zkfence_mount_probe_seconds",
			Help: "Latency of live mount probes.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}),
		probeFails: prometheus.NewCounter(prometheus.CounterOpts{Name: "zkfence_mount_probe_failures_total",
			Help: "Live mount probes that failed."}),
		childStarts: prometheus.NewCounter(prometheus.CounterOpts{Name: "zkfence_child_starts_total",
			Help: "Children started (at most one per run)."}),
		restoreSecs: prometheus.NewGauge(prometheus.GaugeOpts{Name: "zkfence_restore_duration_seconds",
			Help: "Duration of the last restore."}),
		restoreBytes: prometheus.NewGauge(prometheus.GaugeOpts{Name: "zkfence_restore_bytes",
			Help: "Bytes restored by the last restore."}),
	}
	m.registry.MustRegister(m.lockHeld, m.token, m.acquisitions, m.losses, m.waitingAhead, m.renewRTT, m.renewFails,
		m.probeLatency, m.probeFails, m.childStarts, m.restoreSecs, m.restoreBytes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.outcomes = newOutcomeMetrics(m.registry)
	return m
}

func (m *Metrics) acquired(token int64) {
	m.lockHeld.Set(1)
	m.token.Set(float64(token))
	m.acquisitions.Inc()
	m.waitingAhead.Set(0)
}

func (m *Metrics) renewal(rtt time.Duration, err error) {
	if err != nil {
		m.renewFails.Inc()
		return
	}
	m.renewRTT.Observe(rtt.Seconds())
}

func (m *Metrics) probe(ok bool, latency time.Duration) {
	m.probeLatency.Observe(latency.Seconds())
	if !ok {
		m.probeFails.Inc()
	}
}

func (m *Metrics) restored(bytes int64, took time.Duration) {
	m.restoreBytes.Set(float64(bytes))
	m.restoreSecs.Set(took.Seconds())
}

func (m *Metrics) lost(kind string) { m.losses.WithLabelValues(kind).Inc() }
