package testmain

import (
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

// TestCheck: a goroutine still running fails a passed run; one that ends
// within the wait does not; a failed run keeps its code.
func TestCheck(t *testing.T) {
	block := make(chan struct{})
	go func() { <-block }()
	if got := check(0, 200*time.Millisecond); got != 1 {
		t.Errorf("with a goroutine left running: %d, want 1", got)
	}
	time.AfterFunc(300*time.Millisecond, func() { close(block) })
	if got := check(0, 5*time.Second); got != 0 {
		t.Errorf("with a goroutine that ends within the wait: %d, want 0", got)
	}
	if got := check(3, time.Second); got != 3 {
		t.Errorf("failed run: %d, want 3", got)
	}
}
