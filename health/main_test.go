package health

import (
	"os"
	"testing"

	"github.com/zkfence/zkfence/internal/testmain"
)

// TestMain runs the test binary as a helper process when asked to
// (child_test.go), else fails the run when goroutines outlive the tests,
// and gives the processes the tests start default signal dispositions (see
// testmain).
func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		runHelper(mode)
		return
	}
	testmain.Main(m)
}
