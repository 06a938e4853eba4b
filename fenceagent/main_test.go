package fenceagent

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run when a goroutine of this package (the deadline
// watcher of an agent run) outlives the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		deadline := time.Now().Add(5 * time.Second)
		leaked := ours()
		for leaked != "" && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			leaked = ours()
		}
		if leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines leaked by fenceagent:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

func ours() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var leaked []string
	for _, s := range strings.Split(string(buf), "\n\n")[1:] {
		if strings.Contains(s, "zkfence/fenceagent.") && !strings.Contains(s, "fenceagent.TestMain") {
			leaked = append(leaked, s)
		}
	}
	return strings.Join(leaked, "\n\n")
}
