package health

import "github.com/prometheus/client_golang/prometheus"

// CountLogDrops exports dropped(), the number of log lines dropped because
// the log output was blocked (package asynclog), as zkfence_log_dropped_total.
// Call it once, before serving.
func (s *State) CountLogDrops(dropped func() uint64) {
	if s == nil {
		return
	}
	s.metrics.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "zkfence_log_dropped_total",
		Help: "Log lines dropped because the log output was blocked (zkfence never waits for it).",
	}, func() float64 { return float64(dropped()) }))
}
