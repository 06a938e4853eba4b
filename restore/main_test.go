package restore

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain runs the kill-mid-restore helper when asked to (the test binary
// re-executes itself), and otherwise the tests, then checks that they left
// no goroutine behind.
func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(restoreHelper())
	}
	flag.Parse()
	base := runtime.NumGoroutine()
	code := m.Run()
	// The fuzzing engine leaves its own signal goroutine running.
	fuzzing := flag.Lookup("test.fuzz") != nil && flag.Lookup("test.fuzz").Value.String() != ""
	if code == 0 && !fuzzing {
		if err := waitGoroutines(base); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// waitGoroutines waits for the goroutine count to come back to base.
func waitGoroutines(base int) error {
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			return fmt.Errorf("goroutine leak: %d running, %d at start\n%s", runtime.NumGoroutine(), base,
				strings.TrimSpace(string(buf[:n])))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}
