package main

// Confidence intervals for the storage table, by the percentile bootstrap
// (Efron): resample the runs with replacement, recompute the statistic,
// take the 2.5th and 97.5th percentiles. It assumes nothing about the
// distribution of a run's score, which on a shared machine is not normal.
// With few runs the interval is wide, and says so: that is its job. The
// seed is fixed, so a table is reproducible from its runs.

import (
	"math/rand/v2"
	"slices"
)

const bootstrapRounds = 4000

// interval is a statistic with its 95% confidence interval.
type interval struct {
	Value, Lo, Hi float64
}

// medianCI is the median of xs with its 95% bootstrap interval.
func medianCI(xs []float64) interval {
	if len(xs) == 0 {
		return interval{}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	stats := make([]float64, bootstrapRounds)
	buf := make([]float64, len(xs))
	for i := range stats {
		for j := range buf {
			buf[j] = xs[rng.IntN(len(xs))]
		}
		stats[i] = medianF(buf)
	}
	return percentiles(medianF(xs), stats)
}

// ratioCI is median(w)/median(b) with its 95% bootstrap interval, resampling
// the (b[i], w[i]) pairs together: run i of each arm ran next to the other in
// time (A B B A ...), so a pair shares the machine's load of its moment.
func ratioCI(b, w []float64) interval {
	n := min(len(b), len(w))
	if n == 0 {
		return interval{}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	stats := make([]float64, bootstrapRounds)
	rb, rw := make([]float64, n), make([]float64, n)
	for i := range stats {
		for j := range n {
			k := rng.IntN(n)
			rb[j], rw[j] = b[k], w[k]
		}
		stats[i] = medianF(rw) / medianF(rb)
	}
	return percentiles(medianF(w[:n])/medianF(b[:n]), stats)
}

func percentiles(value float64, stats []float64) interval {
	slices.Sort(stats)
	at := func(q float64) float64 { return stats[min(len(stats)-1, int(q*float64(len(stats))))] }
	return interval{Value: value, Lo: at(0.025), Hi: at(0.975)}
}

// verdict says whether a ratio's interval, from n pairs, tells it from the
// goal. Under 3 pairs the bootstrap has nothing to resample: it cannot tell.
func (r interval) verdict(goal float64, n int) string {
	switch {
	case n < 3:
		return "can't tell"
	case r.Lo >= goal:
		return "yes"
	case r.Hi < goal:
		return "NO"
	default:
		return "can't tell"
	}
}
