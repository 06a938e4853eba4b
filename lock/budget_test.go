package lock

import (
	"errors"
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
			if got := tt.b.KillBy(); got != tt.killBy {
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
