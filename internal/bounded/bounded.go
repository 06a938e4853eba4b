// Package bounded runs a call that may never return (a system call stuck on
// a filesystem that stopped answering, a request to a ZooKeeper that is cut
// off) so that its caller returns when ctx ends.
//
// The call runs on a goroutine of its own and is abandoned when ctx ends
// first: it keeps its goroutine (and the OS thread of a system call stuck in
// the kernel) until it returns, and its result is dropped. A caller that
// must know whether an abandoned call can still act (a write that may land
// later) asks Returned.
package bounded

import "context"

// Call is one run of a function under Do.
type Call[T any] struct {
	returned chan struct{}
}

// Returned reports whether the function has returned (true at once when Do
// returned its result, later for an abandoned call).
func (c *Call[T]) Returned() bool {
	select {
	case <-c.returned:
		return true
	default:
		return false
	}
}

// Do runs fn and returns its result, or ctx's cause when ctx ends first.
func Do[T any](ctx context.Context, fn func(context.Context) (T, error)) (T, *Call[T], error) {
	type result struct {
		v   T
		err error
	}
	c := &Call[T]{returned: make(chan struct{})}
	done := make(chan result, 1) // never blocks fn, even when abandoned
	go func() {
		v, err := fn(ctx)
		close(c.returned)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, c, r.err
	case <-ctx.Done():
		var zero T
		return zero, c, context.Cause(ctx)
	}
}

// Err is Do for a function that returns only an error.
func Err(ctx context.Context, fn func(context.Context) error) error {
	_, _, err := Do(ctx, func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx) })
	return err
}
