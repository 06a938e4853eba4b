package asynclog

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/zkfence/zkfence/internal/testmain"
)

// TestMain fails the run when goroutines outlive the tests (see testmain),
// but for each Writer's drain goroutine: a Writer stands in front of
// zkfence's stderr for the life of the process and has no Close by design,
// so every Writer a test makes keeps its goroutine until the test binary
// exits.
func TestMain(m *testing.M) {
	testmain.Main(m, goleak.IgnoreAnyFunction("github.com/zkfence/zkfence/internal/asynclog.(*Writer).drain"))
}
