package runner

import (
	"context"
	"fmt"
	"time"
)

// bounded runs fn, which may touch a filesystem that hangs (a hard-mounted
// NFS whose server is gone blocks every system call), and returns its error,
// or ctx's when ctx ends first, or a timeout error after limit. A stuck fn
// is abandoned with its goroutine: the wrapper must stay responsive, and it
// is about to exit or stop the child anyway.
func bounded(ctx context.Context, limit time.Duration, what string, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%s: gave up after %s: %w", what, limit, ctx.Err())
	}
}
