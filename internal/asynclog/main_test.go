package asynclog

import (
	"testing"

	"github.com/zkfence/zkfence/internal/testmain"
)

// TestMain fails the run when goroutines outlive the tests, but for the
// Writers' drain goroutines, which live as long as the process by design
// (testmain.LogWriters).
func TestMain(m *testing.M) { testmain.Main(m, testmain.LogWriters) }
