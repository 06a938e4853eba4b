package asynclog

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// A writer that never returns (a pipe nobody reads, a stalled log daemon)
// must not block the logger's caller: every call returns at once, and what
// does not fit is counted.
func TestWriteNeverBlocksOnAStuckOutput(t *testing.T) {
	r, stuck := io.Pipe() // nobody reads r: every Write blocks
	defer r.Close()
	w := New(stuck, 4)
	log := slog.New(slog.NewTextHandler(w, nil))
	done := make(chan struct{})
	go func() {
		for i := range 100 {
			log.Warn("lease renewal failed", "n", i)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("logging blocked on a stuck output")
	}
	// One line is in the stuck Write, 4 queued: the rest were dropped.
	if got := w.Dropped(); got < 100-1-4 || got > 100-4 {
		t.Fatalf("dropped %d lines, want about %d", got, 100-5)
	}
	if w.Flush(50 * time.Millisecond) {
		t.Fatal("Flush reported done while the output is stuck")
	}
}

// Once the output moves again, queued lines come out in order, followed by a
// note saying how many were lost.
func TestLinesComeOutInOrderAndDropsAreNoted(t *testing.T) {
	out := &gate{open: make(chan struct{})}
	w := New(out, 2)
	for _, s := range []string{"a\n", "b\n", "c\n", "d\n", "e\n"} {
		w.Write([]byte(s))
	}
	close(out.open)
	if !w.Flush(5 * time.Second) {
		t.Fatal("Flush timed out")
	}
	got := out.String()
	if !strings.HasPrefix(got, "a\n") || !strings.Contains(got, "log lines dropped") {
		t.Fatalf("output %q: want the first line, then a drop note", got)
	}
	if w.Dropped() == 0 {
		t.Fatal("no drops counted")
	}
}

// gate blocks every Write until open is closed.
type gate struct {
	open chan struct{}
	mu   sync.Mutex
	buf  bytes.Buffer
}

func (g *gate) Write(p []byte) (int, error) {
	<-g.open
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.Write(p)
}

func (g *gate) String() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.String()
}
