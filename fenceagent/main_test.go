package fenceagent

import (
	"testing"

	"github.com/zkfence/zkfence/internal/testmain"
)

// TestMain fails the run when a goroutine (the deadline watcher of an agent
// run) outlives the tests, and gives the agents the tests start default
// signal dispositions (see testmain).
func TestMain(m *testing.M) { testmain.Main(m) }
