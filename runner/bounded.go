package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/zkfence/zkfence/internal/bounded"
)

// bounded runs fn, which may touch a filesystem that hangs (a hard-mounted
// NFS whose server is gone blocks every system call) or wait on ZooKeeper,
// and returns its error, or ctx's cause when ctx ends first, or a timeout
// error after limit. A stuck fn is abandoned with its goroutine (package
// bounded): the wrapper must stay responsive, and it is about to exit or
// stop the child anyway.
func boundedCall(ctx context.Context, limit time.Duration, what string, fn func(context.Context) error) (*bounded.Call[struct{}], error) {
	ctx, cancel := context.WithTimeoutCause(ctx, limit, fmt.Errorf("%s: gave up after %s", what, limit))
	defer cancel()
	_, c, err := bounded.Do(ctx, func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx) })
	return c, err
}

// boundedValue is boundedCall for a function that returns a value.
func boundedValue[T any](ctx context.Context, limit time.Duration, what string, fn func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, limit, fmt.Errorf("%s: gave up after %s", what, limit))
	defer cancel()
	v, _, err := bounded.Do(ctx, fn)
	return v, err
}
