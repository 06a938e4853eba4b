package supervise

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nsinitHelperEnv makes the test binary NamespaceInit (see TestMain): the
// variable holds the command, its words separated by \x1f.
const nsinitHelperEnv = "SUPERVISE_TEST_NSINIT"

func nsinitHelper(argv string) int {
	var ready *os.File
	if os.Getenv("SUPERVISE_TEST_READY") != "" {
		syscall.CloseOnExec(3)
		ready = os.NewFile(3, "ready")
	}
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, nsinitHelperEnv+"=") {
			env = append(env, kv)
		}
	}
	return NamespaceInit(Spec{Argv: strings.Split(argv, "\x1f"), Env: env},
		StopPolicy{Signal: syscall.SIGTERM, Grace: 2 * time.Second}, ready)
}

// startNamespaceInit starts the test binary as NamespaceInit of a new PID
// namespace running argv, as the run pipeline does, and waits until it is
// ready.
func startNamespaceInit(t *testing.T, env []string, argv ...string) *Child {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	env = append(append(os.Environ(), env...), nsinitHelperEnv+"="+strings.Join(argv, "\x1f"), "SUPERVISE_TEST_READY=1")
	c, err := Start(Spec{Argv: []string{os.Args[0]}, Env: env, PIDNamespace: true, ExtraFiles: []*os.File{w}})
	w.Close()
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Stop(ctx, StopPolicy{Signal: syscall.SIGKILL}); err != nil {
			t.Error(err)
		}
	})
	if err := WaitReady(r, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	return c
}

func nsinitExit(t *testing.T, c *Child) int {
	t.Helper()
	select {
	case <-c.Done():
		return c.ExitCode()
	case <-time.After(15 * time.Second):
		t.Fatal("the namespace init did not exit within 15s")
		return -1
	}
}

func TestNamespaceInitPassesTheExitCodeOn(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script string
		want   int
	}{
		{"exit 7", "exit 7", 7},
		{"killed by SIGTERM", "kill -TERM $$", 128 + int(syscall.SIGTERM)},
		{"a child of the namespace init", `[ $PPID = 1 ] || exit 9`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startNamespaceInit(t, nil, "sh", "-c", tc.script)
			if got := nsinitExit(t, c); got != tc.want {
				t.Fatalf("exit code %d, want %d", got, tc.want)
			}
		})
	}
}

func TestNamespaceInitLetsSignalsReachTheChildOnce(t *testing.T) {
	dir := t.TempDir()
	c := startNamespaceInit(t, []string{"DIR=" + dir}, "sh", "-c",
		`trap 'echo hup >> "$DIR/hups"' HUP; trap 'exit 5' USR1; touch "$DIR/trapped"; while :; do sleep 0.05; done`)
	for i := 0; ; i++ { // the child's own handlers are its business
		if _, err := os.Stat(filepath.Join(dir, "trapped")); err == nil {
			break
		} else if i > 500 {
			t.Fatal("the child set no traps in 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.Forward(syscall.SIGHUP) // to the init's group: the init and the child
	time.Sleep(300 * time.Millisecond)
	c.Forward(syscall.SIGUSR1)
	if got := nsinitExit(t, c); got != 5 {
		t.Fatalf("exit code %d, want 5: the child's USR1 trap", got)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "hups"))
	if string(data) != "hup\n" {
		t.Fatalf("the child got SIGHUP %d times, want once", strings.Count(string(data), "hup"))
	}
}

func TestNamespaceInitStopsLeftoversThenTheKernelKillsTheRest(t *testing.T) {
	dir := t.TempDir()
	// Two daemons outlive the child: one stops on SIGTERM (and says so),
	// one ignores it and is SIGKILLed by the kernel when the init exits.
	c := startNamespaceInit(t, []string{"DIR=" + dir}, "sh", "-c", `
setsid sh -c 'trap "echo term > \"$DIR/polite\"; exit 0" TERM; while :; do sleep 0.05; done' &
setsid sh -c 'trap "" TERM; echo $$ > "$DIR/stubborn"; while :; do sleep 0.05; done' &
sleep 0.3; exit 0`)
	start := time.Now()
	if got := nsinitExit(t, c); got != 0 {
		t.Fatalf("exit code %d, want the child's 0", got)
	}
	took := time.Since(start)
	if data, err := os.ReadFile(filepath.Join(dir, "polite")); err != nil || string(data) != "term\n" {
		t.Fatalf("the polite daemon did not get SIGTERM: %v %q", err, data)
	}
	if took < 2*time.Second {
		t.Fatalf("the init exited after %v, before the 2s grace for the stubborn daemon", took)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Stop(ctx, StopPolicy{Signal: syscall.SIGTERM}); err != nil {
		t.Fatalf("something of the namespace survived its init: %v", err)
	}
}
