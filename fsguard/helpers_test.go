package fsguard

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// logBuffer collects a test's logs; they are printed when the test fails.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func testLogger(t *testing.T) (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", buf)
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

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
