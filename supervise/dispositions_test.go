package supervise

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dispositionsHelperEnv makes the test binary the wrapper of
// TestStartGivesDefaultDispositions (see TestMain).
const dispositionsHelperEnv = "SUPERVISE_TEST_DISPOSITIONS"

// dispositionsHelper starts a child that prints its SigIgn line, without
// asking for any signal first (Signals is the caller's choice), and then
// prints its own.
func dispositionsHelper() int {
	c, err := Start(Spec{Argv: []string{"grep", "^SigIgn:", "/proc/self/status"}, Env: shEnv})
	if err != nil {
		fmt.Println(err)
		return 1
	}
	<-c.Done()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Stop(ctx, StopPolicy{Signal: syscall.SIGKILL}); err != nil {
		fmt.Println(err)
		return 1
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "SigIgn:") {
			fmt.Println("wrapper " + l)
		}
	}
	return 0
}

// TestStartGivesDefaultDispositions: a wrapper started with SIGHUP, SIGINT
// and SIGQUIT ignored (nohup, a shell's trap "", some CI runners) starts its
// child with every signal at its default, as dumb-init does and tini does
// not: an ignored SIGHUP would reach the database ignored (a shell child
// cannot even trap it), and Forward would deliver it to no effect. The
// wrapper itself still ignores them afterwards.
func TestStartGivesDefaultDispositions(t *testing.T) {
	cmd := exec.Command("sh", "-c", `trap "" HUP INT QUIT; exec "$0"`, os.Args[0])
	cmd.Env = append(os.Environ(), dispositionsHelperEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := "SigIgn:\t0000000000000000\nwrapper SigIgn:\t0000000000000003\n"
	if string(out) != want {
		t.Errorf("got\n%s\nwant (the child's mask, then the wrapper's)\n%s", out, want)
	}
}
