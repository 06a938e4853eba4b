package restorebench

import (
	"testing"

	"github.com/zkfence/zkfence/internal/testmain"
)

// TestMain fails the run when goroutines outlive the tests, and gives the
// processes the tests start default signal dispositions (see testmain).
func TestMain(m *testing.M) { testmain.Main(m) }
