package main

import (
	"os"
	"sync"
	"time"

	"github.com/zkfence/zkfence/internal/asynclog"
)

// stderrQueue is the one writer in front of stderr for zkfence's own logs:
// a log write never blocks the caller (package asynclog), so a stalled
// stderr cannot delay the stop of the child.
var stderrQueue = sync.OnceValue(func() *asynclog.Writer {
	return asynclog.New(stderr{}, asynclog.DefaultCapacity)
})

// stderr writes to whatever os.Stderr is when the line goes out (the
// in-process tests point it at a file while runApp runs; runApp flushes
// the queue before it returns).
type stderr struct{}

func (stderr) Write(p []byte) (int, error) { return os.Stderr.Write(p) }

// flushTimeout bounds how long the process waits, at exit, for its last log
// lines to reach a slow stderr. The child is already dead by then.
const flushTimeout = 2 * time.Second
