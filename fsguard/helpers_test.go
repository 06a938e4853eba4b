package fsguard

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/zkfence/zkfence/internal/testlog"
)

// testLogger is a debug-level logger whose output is printed when the test
// fails (internal/testlog).
func testLogger(t *testing.T) (*slog.Logger, *testlog.Buffer) { return testlog.New(t) }

// prepare runs Prepare with a test timeout and releases what it prepared
// when the test ends.
func prepare(t *testing.T, log *slog.Logger, vols ...Volume) (*Prepared, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := Prepare(ctx, vols, log)
	if p != nil {
		t.Cleanup(func() {
			if err := p.Release(context.Background()); err != nil {
				t.Errorf("release: %v", err)
			}
		})
	}
	return p, err
}

// mustRefuse asserts err is a refusal whose text contains every part.
func mustRefuse(t *testing.T, err error, parts ...string) {
	t.Helper()
	if !errors.Is(err, ErrStorageRefused) {
		t.Fatalf("got %v, want an error wrapping ErrStorageRefused", err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not say %q", err, p)
		}
	}
}

// waitLost waits for the watcher to report a loss, for at most max.
func waitLost(t *testing.T, w *Watcher, max time.Duration) error {
	t.Helper()
	select {
	case <-w.Lost():
		return w.Err()
	case <-time.After(max):
		t.Fatalf("mount loss not detected within %s", max)
		return nil
	}
}

// stopPromptly asserts that Stop returns at once even with a probe stuck.
func stopPromptly(t *testing.T, w *Watcher) {
	t.Helper()
	start := time.Now()
	w.Stop()
	if took := time.Since(start); took > time.Second {
		t.Errorf("Stop took %s", took)
	}
}
