package fsguard

import (
	"context"
	"sync"
)

// bounded runs f on its own goroutine and returns its error, or ctx's when
// ctx ends first. In that case f is abandoned: it keeps its goroutine, and
// the OS thread of a system call stuck in the kernel, until the kernel lets
// go; its result is dropped. Use it for every call that touches a guarded
// filesystem outside the watch (Prepare's checks, Release's sync and
// unmount).
func bounded(ctx context.Context, f func() error) error {
	done := make(chan error, 1) // never blocks f, even when abandoned
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
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
