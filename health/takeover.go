package health

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// takeoverMetrics are the fast takeover's: probes of the holder that got no
// answer, takeovers by cause, and the time from the first failed probe to
// the holder's node being deleted.
type takeoverMetrics struct {
	probeFailures prometheus.Counter
	takeovers     *prometheus.CounterVec
	seconds       prometheus.Gauge
}

func newTakeoverMetrics(r *prometheus.Registry) *takeoverMetrics {
	m := &takeoverMetrics{
		probeFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "zkfence_takeover_probe_failures_total",
			Help: "Probes of the holder's health endpoint, as its first waiter, that got no answer."}),
		takeovers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "zkfence_fast_takeovers_total",
			Help: "Holders fenced and taken over by this process before their session expired, by cause."}, []string{"cause"}),
		seconds: prometheus.NewGauge(prometheus.GaugeOpts{Name: "zkfence_takeover_seconds",
			Help: "Time from the first failed probe to the holder's lock node deleted, last fast takeover."}),
	}
	r.MustRegister(m.probeFailures, m.takeovers, m.seconds)
	return m
}

// TakeoverProbe records one probe of the holder (as its first waiter).
func (s *State) TakeoverProbe(ok bool) {
	if s == nil || ok {
		return
	}
	s.takeover().probeFailures.Inc()
}

// Takeover records a fast takeover: its cause and the time from the first
// failed probe.
func (s *State) Takeover(cause string, sinceFirstFailure time.Duration) {
	if s == nil {
		return
	}
	m := s.takeover()
	m.takeovers.WithLabelValues(cause).Inc()
	m.seconds.Set(sinceFirstFailure.Seconds())
}

func (s *State) takeover() *takeoverMetrics {
	s.takeoverOnce.Do(func() { s.takeoverM = newTakeoverMetrics(s.metrics.registry) })
	return s.takeoverM
}
