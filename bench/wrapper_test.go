package main

import (
	"os/exec"
	"testing"
	"time"
)

// TestChildDeath: the "child stopped" line counts when it comes; a wrapper
// SIGKILLed without it (the freeze guard's timer) counts at its exit; any
// other exit without the line is an error.
func TestChildDeath(t *testing.T) {
	for _, tc := range []struct {
		name    string
		script  string
		byGuard bool
		fails   bool
	}{
		{"logged", `echo '{"time":"2026-01-01T00:00:00Z","msg":"child stopped"}' >&2`, false, false},
		{"killed by the guard", `kill -9 $$`, true, false},
		{"exited without the line", `exit 3`, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := startLogParsed(exec.Command("sh", "-c", tc.script))
			if err != nil {
				t.Fatal(err)
			}
			at, byGuard, err := w.childDeath(10 * time.Second)
			if (err != nil) != tc.fails {
				t.Fatalf("err %v, want failure %v", err, tc.fails)
			}
			if err == nil && (byGuard != tc.byGuard || at.IsZero()) {
				t.Fatalf("at %v byGuard %v, want byGuard %v", at, byGuard, tc.byGuard)
			}
		})
	}
}
