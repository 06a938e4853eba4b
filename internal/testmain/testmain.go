// Package testmain is what every package's TestMain does around its tests:
//
//   - The processes the tests start get every signal at its default
//     disposition, whatever the test binary inherited (package sigdefault):
//     under nohup, or a shell's trap "", a shell script the tests start could
//     not trap SIGHUP, and a test of signal delivery would wait for nothing.
//   - A goroutine left running once the tests passed fails the run
//     (go.uber.org/goleak, the check etcd's TestMains make too). Leaks are
//     waited for up to LeakWait, since some goroutines end only after the
//     cleanup that unblocks them (a probe stuck on a stopped FUSE daemon ends
//     once the test resumes and unmounts it).
package testmain

import (
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zkfence/zkfence/internal/sigdefault"
)

// LogWriters lets the drain goroutine of internal/asynclog's Writers
// outlive the tests: a Writer stands in front of zkfence's stderr for the
// life of the process and has no Close by design, so each one a test makes
// (directly, or through the CLI's run command in-process) keeps its
// goroutine until the test binary exits.
var LogWriters = goleak.IgnoreAnyFunction("github.com/zkfence/zkfence/internal/asynclog.(*Writer).drain")

// LeakWait bounds how long Check waits for goroutines to end.
const LeakWait = 10 * time.Second

// Main runs the tests between Setup and Check and exits with their code.
// opts are goleak's, for goroutines a package may justify leaving.
func Main(m *testing.M, opts ...goleak.Option) {
	Setup()
	os.Exit(Check(m.Run(), opts...))
}

// Setup gives the processes the tests start default signal dispositions.
// Call it first in TestMain, after any dispatch to a helper mode of the test
// binary (a helper may be what a test runs with signals ignored).
func Setup() {
	if _, err := sigdefault.ForChildren(); err != nil {
		fmt.Fprintln(os.Stderr, "testmain:", err)
		os.Exit(1)
	}
}

// Check returns code, or 1 when the tests passed but goroutines other than
// opts allow are still running after LeakWait.
func Check(code int, opts ...goleak.Option) int {
	return check(code, LeakWait, opts...)
}

func check(code int, wait time.Duration, opts ...goleak.Option) int {
	if code != 0 || fuzzing() {
		return code
	}
	deadline := time.Now().Add(wait)
	for {
		err := goleak.Find(opts...) // retries for about 0.4 s itself
		if err == nil {
			return code
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "goleak: goroutines left running after the tests passed: %v\n", err)
			return 1
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// fuzzing reports whether the run is go test -fuzz: the fuzzing engine
// leaves goroutines of its own running.
func fuzzing() bool {
	f := flag.Lookup("test.fuzz")
	return f != nil && f.Value.String() != ""
}
