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
	return asynclog.New(os.Stderr, asynclog.DefaultCapacity)
})

// flushTimeout bounds how long the process waits, at exit, for its last log
// lines to reach a slow stderr. The child is already dead by then.
const flushTimeout = 2 * time.Second
