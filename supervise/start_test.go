package supervise

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// These tests run Start in the test process itself, which is then the
// wrapper: only one Child may be live at a time (S6), so none is parallel, and
// each one ends with a confirmed Stop. Commands the tests run meanwhile
// (exec.Command, in the test process's group) are the wrapper's helpers (S3).

var shEnv = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}

// startT starts spec and arranges for a confirmed Stop at the end.
func startT(t *testing.T, spec Spec) *Child {
	t.Helper()
	if spec.Env == nil {
		spec.Env = shEnv
	}
	c, err := Start(spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { stopT(t, c) })
	return c
}

func stopT(t *testing.T, c *Child) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second+KillWait)
	defer cancel()
	if err := c.Stop(ctx, StopPolicy{Signal: syscall.SIGTERM, Grace: 10 * time.Second}); err != nil {
		t.Errorf("Stop: %v", err)
	}
}

func waitDone(t *testing.T, c *Child) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(60 * time.Second):
		t.Fatal("the child did not exit")
	}
}

func TestStartExitCode(t *testing.T) {
	for _, c := range []struct {
		script string
		want   int
	}{
		{"exit 0", 0}, {"exit 3", 3}, {"exit 255", 255},
		{"kill -USR1 $$", 128 + 10}, {"kill -KILL $$", 128 + 9},
	} {
		t.Run(c.script, func(t *testing.T) {
			ch := startT(t, Spec{Argv: []string{"sh", "-c", c.script}})
			if got := ch.ExitCode(); got != -1 && got != c.want {
				t.Errorf("ExitCode before Done = %d", got)
			}
			waitDone(t, ch)
			if got := ch.ExitCode(); got != c.want {
				t.Errorf("ExitCode = %d, want %d", got, c.want)
			}
		})
	}
}

func TestStartErrors(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "not-exec")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// In an earlier PATH entry a non-executable file, in a later one the real
	// command: execvp skips the first.
	binA, binB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, d := range []string{binA, binB} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(binA, "zk-tool"), []byte("#!/bin/sh\nexit 9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(binB, "zk-tool"), []byte("#!/bin/sh\nexit 7\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(binA, "zk-only-a"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		spec Spec
		err  error
		code int
	}{
		{"empty argv", Spec{}, ErrNotFound, 127},
		{"absent path", Spec{Argv: []string{"/nonexistent/x"}}, ErrNotFound, 127},
		{"absent in PATH", Spec{Argv: []string{"zkfence-no-such-command"}, Env: shEnv}, ErrNotFound, 127},
		{"not executable", Spec{Argv: []string{notExec}}, ErrNotExecutable, 126},
		{"directory", Spec{Argv: []string{dir}}, ErrNotExecutable, 126},
		{"only non-executable in PATH", Spec{Argv: []string{"zk-only-a"}, Env: []string{"PATH=" + binA}}, ErrNotExecutable, 126},
		{"bad interpreter", Spec{Argv: []string{writeScript(t, dir, "#!/nonexistent/sh\n")}}, ErrNotFound, 127},
		{"unknown user", Spec{Argv: []string{"true"}, Env: shEnv, User: "zkfence-no-such-user"}, ErrBadUser, 78},
		{"bad dir", Spec{Argv: []string{"true"}, Env: shEnv, Dir: "/nonexistent"}, nil, 99},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ch, err := Start(c.spec)
			if err == nil {
				stopT(t, ch)
				t.Fatal("Start succeeded")
			}
			if c.err != nil && !errors.Is(err, c.err) {
				t.Errorf("err %v, want %v", err, c.err)
			}
			if got := ExitCodeOf(err); got != c.code {
				t.Errorf("ExitCodeOf(%v) = %d, want %d", err, got, c.code)
			}
		})
	}
	t.Run("PATH from Env skips a non-executable", func(t *testing.T) {
		ch := startT(t, Spec{Argv: []string{"zk-tool"}, Env: []string{"PATH=" + binA + ":" + binB}})
		waitDone(t, ch)
		if got := ch.ExitCode(); got != 7 {
			t.Errorf("ExitCode = %d, want 7 (the executable in the second PATH entry)", got)
		}
	})
}

func writeScript(t *testing.T, dir, body string) string {
	t.Helper()
	f, err := os.CreateTemp(dir, "script")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(body); err != nil {
		t.Fatal(err)
	}
	if err := f.Chmod(0o755); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

func TestStartEnvAndDir(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	ch := startT(t, Spec{
		Argv: []string{"sh", "-c", `echo "$A $B $(pwd)" > ` + out},
		Env:  append([]string{"A=1", "B=x", "B=2"}, shEnv...),
		Dir:  dir,
	})
	waitDone(t, ch)
	if got, want := readFile(t, out), "1 2 "+dir; got != want {
		t.Errorf("child saw %q, want %q", got, want)
	}
}

// TestOneChildAtATime: a second Start is refused until Stop has confirmed the
// first tree gone (S6).
func TestOneChildAtATime(t *testing.T) {
	first, err := Start(Spec{Argv: []string{"sleep", "600"}, Env: shEnv})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Start(Spec{Argv: []string{"true"}, Env: shEnv}); !errors.Is(err, ErrBusy) {
		t.Errorf("second Start: %v, want ErrBusy", err)
	}
	stopT(t, first)
	second := startT(t, Spec{Argv: []string{"true"}})
	waitDone(t, second)
}

// TestForward: Forward translates through the SignalMap and reaches the
// child; after Done it is a no-op.
func TestForward(t *testing.T) {
	dir := t.TempDir()
	ch := startT(t, Spec{
		Argv:      []string{"sh", scripts + "/signals.sh", dir},
		SignalMap: DefaultSignalMap("postgres"),
	})
	waitFor(t, "the child's traps", func() bool { return exists(dir + "/ready") })
	ch.Forward(syscall.SIGTERM)
	waitFor(t, "INT", func() bool { return logHas(dir+"/log", "INT") })
	ch.Forward(syscall.SIGUSR2)
	waitFor(t, "USR2", func() bool { return logHas(dir+"/log", "USR2") })
	ch.Forward(fakeSignal{}) // not a syscall.Signal: ignored
	if err := os.WriteFile(dir+"/done", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitDone(t, ch)
	ch.Forward(syscall.SIGTERM) // no-op after Done
	if got := readFile(t, dir+"/log"); got != "INT\nUSR2" {
		t.Errorf("child's log %q", got)
	}
}

type fakeSignal struct{}

func (fakeSignal) String() string { return "fake" }
func (fakeSignal) Signal()        {}
