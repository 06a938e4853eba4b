package fsguard

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run when goroutines of this package outlive the tests.
// Probes abandoned on a stopped FUSE daemon must end once the test's cleanup
// resumes and unmounts it: a stuck probe is allowed to outlive its Watcher,
// not the mount.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := waitForLeaks(10 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines leaked by fsguard:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// waitForLeaks waits until no goroutine but this one runs fsguard code and
// returns the stacks of those that still do.
func waitForLeaks(wait time.Duration) string {
	deadline := time.Now().Add(wait)
	for {
		leaked := fsguardGoroutines()
		if leaked == "" || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func fsguardGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	stacks := strings.Split(string(buf), "\n\n")
	var leaked []string
	for _, s := range stacks[1:] { // the first is this goroutine
		if strings.Contains(s, "zkfence/fsguard.") {
			leaked = append(leaked, s)
		}
	}
	return strings.Join(leaked, "\n\n")
}
