package fsguard

import (
	"context"
	"sync"

	boundedcall "github.com/zkfence/zkfence/internal/bounded"
)

// bounded runs f so that the caller returns when ctx ends, abandoning a
// call stuck in the kernel (package bounded). Use it for every call that
// touches a guarded filesystem outside the watch (Prepare's checks,
// Release's sync and unmount).
func bounded(ctx context.Context, f func() error) error {
	return boundedcall.Err(ctx, func(context.Context) error { return f() })
}

// flight allows at most one call in flight: start returns the call in
// flight, or starts f and returns it. A stuck call stays in flight forever
// and no second one starts while it does.
type flight struct {
	mu      sync.Mutex
	pending *call
}

// call is one run of f: done is closed when it returned, err is its result.
type call struct {
	done chan struct{}
	err  error
}

func (fl *flight) start(f func() error) *call {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.pending != nil {
		return fl.pending
	}
	c := &call{done: make(chan struct{})}
	fl.pending = c
	go func() {
		c.err = f()
		fl.mu.Lock()
		fl.pending = nil
		fl.mu.Unlock()
		close(c.done)
	}()
	return c
}
