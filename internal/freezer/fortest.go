package freezer

import (
	"errors"
	"fmt"
	"os"
	"testing"
)

// ForTest makes a cgroup for one test, thawed and removed when it ends. A
// machine without the wanted hierarchy cannot run such a test: it is
// skipped, and the skip says so loudly.
func ForTest(t testing.TB, prefix string, v2 bool) *Freezer {
	t.Helper()
	f, err := New(fmt.Sprintf("%s-%d", prefix, os.Getpid()), v2)
	if errors.Is(err, ErrNoHierarchy) {
		t.Skipf("SKIPPED LOUDLY: %v: the freeze guard is not tested against it on this machine", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Remove(); err != nil {
			t.Error(err)
		}
	})
	return f
}
