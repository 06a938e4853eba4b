package sigdefault

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// helperEnv makes the test binary report dispositions (see TestMain).
const helperEnv = "SIGDEFAULT_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helper())
	}
	goleak.VerifyTestMain(m) // not testmain's: it uses this package
}

// helper prints the SigIgn mask of a child started without ForChildren, of
// one started with it, and its own mask after restore.
func helper() int {
	child := func() string {
		out, err := exec.Command("grep", "^SigIgn:", "/proc/self/status").Output()
		if err != nil {
			return "error: " + err.Error()
		}
		return strings.TrimSpace(string(out))
	}
	before := child()
	restore, err := ForChildren()
	if err != nil {
		fmt.Println(err)
		return 1
	}
	with := child()
	restore()
	restore()
	own, err := os.ReadFile(statusPath)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	m, err := ignoredMask(string(own))
	if err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Printf("before %s\nwith %s\nown after %016x\n", before, with, m)
	return 0
}

// TestForChildren runs the helper with SIGHUP, SIGINT and SIGUSR1 ignored, as
// nohup and a shell's trap "" leave them: without ForChildren its child
// inherits SIGHUP and SIGINT ignored (Go took SIGUSR1 over at start); with
// it the child gets every one at its default; the helper ignores both again
// after restore.
func TestForChildren(t *testing.T) {
	cmd := exec.Command("sh", "-c", `trap "" HUP INT USR1; exec "$0"`, os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := "before SigIgn:\t0000000000000003\n" +
		"with SigIgn:\t0000000000000000\n" +
		"own after 0000000000000003\n"
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func TestIgnoredMask(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"Name:\tx\nSigBlk:\t0000000000000000\nSigIgn:\t0000000004000203\nSigCgt:\t0\n", 0x4000203, true},
		{"SigIgn:\t0000000000000000", 0, true},
		{"Name:\tx\n", 0, false},
		{"SigIgn:\tzz\n", 0, false},
	} {
		got, err := ignoredMask(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ignoredMask(%q) = %#x, %v; want %#x, ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}
