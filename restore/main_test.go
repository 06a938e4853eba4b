package restore

import (
	"flag"
	"os"
	"testing"

	"github.com/zkfence/zkfence/internal/testmain"
)

// TestMain runs the kill-mid-restore helper when asked to (the test binary
// re-executes itself), and otherwise the tests, then checks that they left
// no goroutine behind.
func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(restoreHelper())
	}
	flag.Parse()
	testmain.Main(m)
}
