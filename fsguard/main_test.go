package fsguard

import (
	"testing"

	"github.com/zkfence/zkfence/internal/testmain"
)

// TestMain fails the run when goroutines outlive the tests. Probes abandoned
// on a stopped FUSE daemon must end once the test's cleanup resumes and
// unmounts it (testmain waits for that): a stuck probe is allowed to outlive
// its Watcher, not the mount.
func TestMain(m *testing.M) { testmain.Main(m) }
