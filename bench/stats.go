package main

import (
	"sort"
	"time"
)

func sorted(ds []time.Duration) []time.Duration {
	out := append([]time.Duration(nil), ds...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func median(ds []time.Duration) time.Duration {
	s := sorted(ds)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minimum(ds []time.Duration) time.Duration { return sorted(ds)[0] }

func maximum(ds []time.Duration) time.Duration { s := sorted(ds); return s[len(s)-1] }

func ms(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }
