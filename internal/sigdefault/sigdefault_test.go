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
	// Only the signals this test sets are compared: the test process may
	// itself have inherited others ignored (a CI runner's, nohup's) that
	// are not ours to reset, such as the runtime's own signal 32.
	const ours = 1<<(1-1) | 1<<(2-1) // SIGHUP, SIGINT
	var before, with, after uint64
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 {
		t.Fatalf("helper output:\n%s", out)
	}
	for i, dst := range []*uint64{&before, &with, &after} {
		f := strings.Fields(lines[i])
		if _, err := fmt.Sscanf(f[len(f)-1], "%x", dst); err != nil {
			t.Fatalf("line %q: %v", lines[i], err)
		}
	}
	if before&ours != ours || with&ours != 0 || after&ours != ours {
		t.Errorf("HUP and INT ignored: before %#x (want both), with ForChildren %#x (want neither), after restore %#x (want both)\n%s",
			before&ours, with&ours, after&ours, out)
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
