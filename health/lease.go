package health

import "github.com/prometheus/client_golang/prometheus"

// leaseCollector exports the time left before the lease's stop deadline
// (what /readyz calls lease_remaining_seconds), only while the lock is held.
// Right after a renewal it is about the whole budget; renewals that stall
// bring it down toward 0, where the child is stopped. An alert compares it
// with its own recent maximum, which is about the budget, so that it needs
// no threshold per deployment.
type leaseCollector struct{ s *State }

var leaseRemainingDesc = prometheus.NewDesc("zkfence_lease_remaining_seconds",
	"Time left before the lease's stop deadline, at the scrape; exported while the lock is held.", nil, nil)

func (c leaseCollector) Describe(ch chan<- *prometheus.Desc) { ch <- leaseRemainingDesc }

func (c leaseCollector) Collect(ch chan<- prometheus.Metric) {
	if left := c.s.Snapshot().LeaseRemaining; left != nil {
		ch <- prometheus.MustNewConstMetric(leaseRemainingDesc, prometheus.GaugeValue, *left)
	}
}
