// Package asynclog is an io.Writer for log handlers that never blocks its
// caller.
//
// zkfence's safety path (a lease deadline, a lost lock node, a stop of the
// child) logs as it acts. Its stderr can stall: Docker's blocking log mode
// with a stalled daemon or fluentd, a hung journald, a pipe nobody reads. A
// log write that blocks there would hold up the kill of the child while
// another node takes the lock (DESIGN.md, I3). So log lines go into a bounded
// queue that one goroutine writes out; when the queue is full a line is
// dropped and counted (Dropped, exported as zkfence_log_dropped_total), and
// once the output moves again a note says how many were lost.
//
// Invariant: Write never waits for the underlying writer. It copies the line
// and returns, whatever the writer does.
package asynclog

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// DefaultCapacity is how many lines the queue holds: minutes of zkfence's
// own logging at its busiest (a failover logs a few dozen lines), so that
// only a writer that is truly stuck loses lines.
const DefaultCapacity = 1024

// Writer queues each Write for a background goroutine.
type Writer struct {
	out      io.Writer
	lines    chan []byte
	dropped  atomic.Uint64
	pending  atomic.Int64 // lines queued and not yet written
	reported uint64       // drops already noted in the output (writer goroutine only)
}

// New starts a Writer in front of out with room for capacity lines.
func New(out io.Writer, capacity int) *Writer {
	w := &Writer{out: out, lines: make(chan []byte, capacity)}
	go w.drain()
	return w
}

// Write queues a copy of p and returns at once; when the queue is full the
// line is dropped and counted. It never returns an error: a log line is not
// worth failing the caller for.
func (w *Writer) Write(p []byte) (int, error) {
	line := append([]byte(nil), p...)
	w.pending.Add(1)
	select {
	case w.lines <- line:
	default:
		w.pending.Add(-1)
		w.dropped.Add(1)
	}
	return len(p), nil
}

// Dropped is how many lines were dropped because the queue was full.
func (w *Writer) Dropped() uint64 { return w.dropped.Load() }

// Flush waits until every queued line was written, or timeout passes: for
// the last lines before the process exits. It reports whether all were.
func (w *Writer) Flush(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for w.pending.Load() > 0 {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

func (w *Writer) drain() {
	for line := range w.lines {
		_, _ = w.out.Write(line)
		w.noteDrops()
		w.pending.Add(-1)
	}
}

// noteDrops writes how many lines were lost since the last note, once the
// output has taken a line again.
func (w *Writer) noteDrops() {
	if d := w.dropped.Load(); d > w.reported {
		fmt.Fprintf(w.out, "zkfence: %d log lines dropped: the log output was blocked\n", d-w.reported)
		w.reported = d
	}
}
