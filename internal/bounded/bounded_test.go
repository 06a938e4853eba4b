package bounded

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDoReturnsTheResult(t *testing.T) {
	v, c, err := Do(context.Background(), func(context.Context) (int, error) { return 7, nil })
	if v != 7 || err != nil || !c.Returned() {
		t.Fatalf("Do = %v, %v, returned %v", v, err, c.Returned())
	}
}

// A call that never returns is abandoned when ctx ends, with ctx's cause,
// and Returned says it may still act.
func TestDoAbandonsAStuckCall(t *testing.T) {
	cause := errors.New("lease lost")
	ctx, cancel := context.WithCancelCause(context.Background())
	stuck := make(chan struct{})
	defer close(stuck)
	go func() { time.Sleep(10 * time.Millisecond); cancel(cause) }()
	_, c, err := Do(ctx, func(context.Context) (int, error) { <-stuck; return 0, nil })
	if !errors.Is(err, cause) {
		t.Fatalf("err %v, want the ctx's cause", err)
	}
	if c.Returned() {
		t.Fatal("a stuck call reported as returned")
	}
}
