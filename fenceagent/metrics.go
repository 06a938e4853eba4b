package fenceagent

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics count fence operations by operation and result, and time them.
// It is a prometheus.Collector: register it where the other metrics are.
// Labels are bounded sets; no value, plug or option ever becomes a label.
type Metrics struct {
	actions  *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics returns fresh, unregistered metrics.
func NewMetrics() *Metrics {
	return &Metrics{
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "zkfence_fence_actions_total",
			Help: "Fence agent operations (off: fence and confirm; on: unfence; status; monitor; check), " +
				"by result: success, failed, timeout, not_confirmed, invalid, canceled."},
			[]string{"action", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "zkfence_fence_action_duration_seconds",
			Help:    "Duration of fence agent operations (off includes its confirmation).",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14)}, []string{"action"}),
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.actions.Describe(ch)
	m.duration.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.actions.Collect(ch)
	m.duration.Collect(ch)
}

func (a *Agent) observe(action string, start time.Time, err error) {
	if a.Metrics == nil {
		return
	}
	a.Metrics.actions.WithLabelValues(action, resultOf(err)).Inc()
	a.Metrics.duration.WithLabelValues(action).Observe(time.Since(start).Seconds())
}

func resultOf(err error) string {
	switch {
	case err == nil:
		return "success"
	case errors.Is(err, ErrInvalid):
		return "invalid"
	case errors.Is(err, ErrNotConfirmed):
		return "not_confirmed"
	case errors.Is(err, ErrTimeout):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "failed"
}
