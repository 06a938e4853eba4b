package main

// Confidence intervals for the storage table. An arm's median throughput
// gets the percentile bootstrap (Efron): resample the runs with replacement,
// recompute the median, take the 2.5th and 97.5th percentiles; it assumes
// nothing about the distribution of a run's score, and its seed is fixed,
// so a table is reproducible from its runs. The zkfence/bare ratio, the
// number the table exists for, gets Student's t on the paired log ratios
// (ratioCI).

import (
	"math"
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

// ratioCI is the zkfence/bare ratio with its 95% confidence interval,
// from the pairs (b[i], w[i]): run i of each arm ran next to the other in
// time (A B B A ...), so a pair shares the machine's state of its moment and
// its ratio w[i]/b[i] cancels most of it. The value is the geometric mean
// of the pair ratios; the interval is Student's t on their logarithms,
// which is honest with few pairs (with 3 it is wide, as it should be),
// where a bootstrap of 3 pairs can only recombine them and claims a
// precision it does not have.
func ratioCI(b, w []float64) interval {
	n := min(len(b), len(w))
	if n == 0 {
		return interval{}
	}
	logs := make([]float64, n)
	for i := range n {
		if b[i] <= 0 || w[i] <= 0 {
			return interval{Value: math.NaN(), Lo: 0, Hi: math.Inf(1)}
		}
		logs[i] = math.Log(w[i] / b[i])
	}
	m := meanF(logs)
	if n < 2 {
		return interval{Value: math.Exp(m), Lo: 0, Hi: math.Inf(1)}
	}
	ss := 0.0
	for _, x := range logs {
		ss += (x - m) * (x - m)
	}
	half := t975(n-1) * math.Sqrt(ss/float64(n-1)) / math.Sqrt(float64(n))
	return interval{Value: math.Exp(m), Lo: math.Exp(m - half), Hi: math.Exp(m + half)}
}

// t975 is Student's t distribution's 97.5th percentile with df degrees of
// freedom (two-sided 95%), from the standard table; above 30 the normal
// approximation's error is under 2%, and it errs wide.
func t975(df int) float64 {
	table := [...]float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
		2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
		2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042}
	if df >= 1 && df <= len(table) {
		return table[df-1]
	}
	return 2.042
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
