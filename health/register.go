package health

import "github.com/prometheus/client_golang/prometheus"

// Register adds collectors of other packages (the fence agent's actions) to
// the /metrics registry. Call it before serving.
func (s *State) Register(c prometheus.Collector) {
	if s == nil {
		return
	}
	s.metrics.registry.MustRegister(c)
}
