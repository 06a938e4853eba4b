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
	// Only HUP and INT (QUIT Go takes over) are compared: this test process
	// may have inherited other signals ignored (a CI runner's, such as the
	// runtime's signal 32) that are not the wrapper's to reset.
	const ours = 1<<(1-1) | 1<<(2-1)
	var child, wrapper uint64
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		t.Fatalf("helper output:\n%s", out)
	}
	for i, dst := range []*uint64{&child, &wrapper} {
		f := strings.Fields(lines[i])
		if _, err := fmt.Sscanf(f[len(f)-1], "%x", dst); err != nil {
			t.Fatalf("line %q: %v", lines[i], err)
		}
	}
	if child&ours != 0 || wrapper&ours != ours {
		t.Errorf("HUP and INT ignored: in the child %#x (want neither), in the wrapper %#x (want both)\n%s",
			child&ours, wrapper&ours, out)
	}
}
