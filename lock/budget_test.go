package lock

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestBudgetReferencePoints(t *testing.T) {
	tests := []struct {
		name   string
		b      Budget
		killBy time.Duration
	}{
		// DESIGN.md: "the child survives about 15.6 s without ZooKeeper".
		{"default", Budget{30 * time.Second, 2 * time.Second, 5, time.Second, 0.01, 2 * time.Second}, 15580 * time.Millisecond},
		// DESIGN.md: the fast profile "gives about 3.2 s".
		{"fast", Budget{6 * time.Second, 500 * time.Millisecond, 2, 500 * time.Millisecond, 0.01, time.Second}, 3172500 * time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.b.KillAfter(); got != tt.killBy {
				t.Fatalf("KillBy = %v, want %v", got, tt.killBy)
			}
			if got, want := tt.b.StopAfter(), tt.killBy-tt.b.StopTime; got != want {
				t.Fatalf("StopAfter = %v, want %v", got, want)
			}
			if err := tt.b.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestBudgetRefusals(t *testing.T) {
	ok := Budget{30 * time.Second, 2 * time.Second, 5, time.Second, 0.01, 2 * time.Second}
	tests := []struct {
		name string
		mut  func(*Budget)
		want string
	}{
		{"session too short", func(b *Budget) { b.SessionTimeout = 10 * time.Second }, "D_kill - t_s = (1-0.01) x T 10s"},
		{"grace eats budget", func(b *Budget) { b.StopTime = 11 * time.Second }, "less than two heartbeats"},
		{"zero heartbeat", func(b *Budget) { b.Heartbeat = 0 }, "must be positive"},
		{"zero sync limit", func(b *Budget) { b.SyncLimit = 0 }, "sync limit"},
		{"drift too big", func(b *Budget) { b.ClockDrift = 0.6 }, "clock drift"},
		{"negative drift", func(b *Budget) { b.ClockDrift = -0.1 }, "clock drift"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := ok
			tt.mut(&b)
			err := b.Validate()
			if !errors.Is(err, ErrUnsafeBudget) {
				t.Fatalf("Validate = %v, want ErrUnsafeBudget", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("message %q does not contain %q", err, tt.want)
			}
		})
	}
}

// TestBudgetHostileInputs: inputs that wrapped the arithmetic (issue 16,
// item 1) or mean nothing are refused, whatever else is configured.
func TestBudgetHostileInputs(t *testing.T) {
	fast := Budget{6 * time.Second, 500 * time.Millisecond, 2, 500 * time.Millisecond, 0.01, time.Second}
	tests := []struct {
		name string
		mut  func(*Budget)
		want string
	}{
		// 3e10 x 500ms wrapped past int64 nanoseconds into a negative G.
		{"sync limit wraps G", func(b *Budget) { b.SyncLimit = 30000000000 }, "sync limit"},
		{"negative sync limit", func(b *Budget) { b.SyncLimit = -3 }, "sync limit"},
		// K - 2K wrapped StopAfter into millions of hours.
		{"grace wraps StopAfter", func(b *Budget) { b.StopTime = 1500000 * time.Hour }, "stop time"},
		{"largest grace", func(b *Budget) { b.StopTime = maxDuration }, "stop time"},
		{"heartbeat 1ns", func(b *Budget) { b.Heartbeat = time.Nanosecond }, "heartbeat 1ns"},
		{"heartbeat of hours", func(b *Budget) { b.Heartbeat = 2 * time.Hour }, "heartbeat"},
		{"tick time of days", func(b *Budget) { b.TickTime = 48 * time.Hour }, "tick time"},
		{"tick time below 1ms", func(b *Budget) { b.TickTime = time.Microsecond }, "tick time"},
		{"session timeout of years", func(b *Budget) { b.SessionTimeout = 1 << 62 }, "session timeout"},
		{"NaN drift", func(b *Budget) { b.ClockDrift = math.NaN() }, "clock drift"},
		{"infinite drift", func(b *Budget) { b.ClockDrift = math.Inf(1) }, "clock drift"},
		{"negative infinite drift", func(b *Budget) { b.ClockDrift = math.Inf(-1) }, "clock drift"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := fast
			tt.mut(&b)
			err := b.Validate()
			if !errors.Is(err, ErrUnsafeBudget) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want ErrUnsafeBudget saying %q (stop after %v)", err, tt.want, b.StopAfter())
			}
		})
	}
}

func TestSaturatingArithmetic(t *testing.T) {
	if got := satMul(500*time.Millisecond, 30000000000); got != maxDuration {
		t.Errorf("satMul overflow = %v, want max", got)
	}
	if got := satMul(-time.Hour, 1<<40); got != minDuration {
		t.Errorf("satMul negative overflow = %v, want min", got)
	}
	if got := satAdd(maxDuration, 1); got != maxDuration {
		t.Errorf("satAdd = %v", got)
	}
	if got := satSub(minDuration, time.Second); got != minDuration {
		t.Errorf("satSub = %v", got)
	}
	if got := satSub(0, minDuration); got != maxDuration {
		t.Errorf("satSub(0, min) = %v", got)
	}
	b := Budget{time.Hour, time.Minute, 1 << 40, time.Second, 0.01, 1500000 * time.Hour}
	if b.FollowerWindow() != maxDuration || b.KillAfter() >= 0 || b.StopAfter() >= 0 {
		t.Errorf("saturated budget: G %v, KillAfter %v, StopAfter %v", b.FollowerWindow(), b.KillAfter(), b.StopAfter())
	}
}

// FuzzBudget: whatever the inputs, a budget Validate accepts has
// 2h <= StopAfter < KillBy < T. `go test` runs the seeds; see the README for
// longer runs.
func FuzzBudget(f *testing.F) {
	f.Add(int64(30*time.Second), int64(2*time.Second), int64(5), int64(time.Second), 0.01, int64(2*time.Second))
	f.Add(int64(6*time.Second), int64(500*time.Millisecond), int64(30000000000), int64(500*time.Millisecond), 0.01, int64(time.Second))
	f.Add(int64(30*time.Second), int64(2*time.Second), int64(5), int64(time.Second), 0.01, int64(1500000*time.Hour))
	f.Add(int64(30*time.Second), int64(2*time.Second), int64(5), int64(1), math.NaN(), int64(-1))
	f.Fuzz(func(t *testing.T, sess, tick, sync, hb int64, drift float64, stop int64) {
		b := Budget{time.Duration(sess), time.Duration(tick), int(sync), time.Duration(hb), drift, time.Duration(stop)}
		if b.Validate() != nil {
			return
		}
		if !(b.MinStopAfter() <= b.StopAfter() && b.StopAfter() < b.KillAfter() && b.KillAfter() < b.SessionTimeout) {
			t.Fatalf("accepted %+v: StopAfter %v, KillAfter %v", b, b.StopAfter(), b.KillAfter())
		}
		if b.FollowerWindow() <= 0 || b.StopAfter() > b.SessionTimeout {
			t.Fatalf("accepted %+v with G %v", b, b.FollowerWindow())
		}
	})
}
