package bounded

import (
	"testing"

	"github.com/zkfence/zkfence/internal/testmain"
)

func TestMain(m *testing.M) { testmain.Main(m) }
