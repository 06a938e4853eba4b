package zkserver

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/zkfence/zkfence/internal/testmain"
)

// shared is one standalone server for the tests that do not stop, freeze or
// reconfigure it, started by TestMain with StartMain (as other packages do
// to save JVM start-ups). Its MaxSessionTimeout is 4s.
var shared *Server

func TestMain(m *testing.M) {
	testmain.Setup()
	s, stop, err := StartMain(Options{TickTime: 200 * time.Millisecond, MaxSessionTimeout: 4 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared = s
	code := m.Run()
	if code != 0 {
		fmt.Fprintln(os.Stderr, shared.LogTail(100))
	}
	stop()
	os.Exit(testmain.Check(code))
}
