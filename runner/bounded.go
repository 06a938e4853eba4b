package runner

import (
	"context"
	"fmt"
	"time"
)

// bounded runs fn, which may touch a filesystem that hangs (a hard-mounted
// NFS whose server is gone blocks every system call) or wait on ZooKeeper,
// and returns its error, or ctx's cause when ctx ends first, or a timeout
// error after limit. A stuck fn is abandoned with its goroutine: the wrapper
// must stay responsive, and it is about to exit or stop the child anyway.
func bounded(ctx context.Context, limit time.Duration, what string, fn func(context.Context) error) error {
	_, err := boundedValue(ctx, limit, what, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, fn(ctx)
	})
	return err
}

// boundedValue is bounded for a function that returns a value.
func boundedValue[T any](ctx context.Context, limit time.Duration, what string, fn func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, limit, fmt.Errorf("%s: gave up after %s", what, limit))
	defer cancel()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := fn(ctx)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, context.Cause(ctx)
	}
}
