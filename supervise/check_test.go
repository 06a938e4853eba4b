package supervise

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestCheck: Check refuses what Start refuses before the fork, with the same
// error class and exit code, and accepts what Start starts. Only execve can
// tell a script's missing interpreter: Check accepts it, Start gives 127.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	binA, binB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, d := range []string{binA, binB} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path string, mode os.FileMode) {
		if err := os.WriteFile(path, []byte("#!/bin/sh\nexit 7\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(binA, "zk-tool"), 0o644) // not executable
	write(filepath.Join(binB, "zk-tool"), 0o755)
	write(filepath.Join(binA, "zk-only-a"), 0o644)
	badInterp := writeScript(t, dir, "#!/nonexistent/sh\n")
	wrapperPath := "PATH=" + binB // the wrapper's own PATH in this test
	t.Setenv("PATH", binB)

	cases := []struct {
		name  string
		spec  Spec
		unset bool  // the wrapper has no PATH either
		err   error // Check's class; nil: accepted (or, with code 99, neither class)
		code  int   // ExitCodeOf(Check's error)
		start int   // ExitCodeOf(Start's error), when it differs
	}{
		{name: "absolute path", spec: Spec{Argv: []string{"/bin/sh", "-c", "exit 0"}}},
		{name: "PATH from Env", spec: Spec{Argv: []string{"sh", "-c", "exit 0"}, Env: shEnv}},
		{name: "the wrapper's PATH when Env has none", spec: Spec{Argv: []string{"zk-tool"}, Env: []string{"A=1"}}},
		{name: "Env's PATH wins over the wrapper's", spec: Spec{Argv: []string{"zk-tool"}, Env: []string{"PATH=" + binA}}, err: ErrNotExecutable, code: 126},
		{name: "last PATH in Env wins", spec: Spec{Argv: []string{"zk-tool"}, Env: []string{"PATH=" + binA, "PATH=" + binB}}},
		{name: "a non-executable skipped", spec: Spec{Argv: []string{"zk-tool"}, Env: []string{"PATH=" + binA + ":" + binB}}},
		{name: "/bin:/usr/bin when no PATH at all", spec: Spec{Argv: []string{"sh", "-c", "exit 0"}}, unset: true},
		{name: "not in /bin:/usr/bin", spec: Spec{Argv: []string{"zk-tool"}}, unset: true, err: ErrNotFound, code: 127},
		{name: "relative to Dir", spec: Spec{Argv: []string{"./zk-tool"}, Dir: binB}},
		{name: "relative to Dir, not executable", spec: Spec{Argv: []string{"./zk-tool"}, Dir: binA}, err: ErrNotExecutable, code: 126},
		{name: "empty argv", spec: Spec{}, err: ErrNotFound, code: 127},
		{name: "absent path", spec: Spec{Argv: []string{"/nonexistent/x"}}, err: ErrNotFound, code: 127},
		{name: "absent in PATH", spec: Spec{Argv: []string{"zkfence-no-such-command"}, Env: shEnv}, err: ErrNotFound, code: 127},
		{name: "not executable", spec: Spec{Argv: []string{filepath.Join(binA, "zk-tool")}}, err: ErrNotExecutable, code: 126},
		{name: "directory", spec: Spec{Argv: []string{dir}}, err: ErrNotExecutable, code: 126},
		{name: "only non-executable in PATH", spec: Spec{Argv: []string{"zk-only-a"}, Env: []string{"PATH=" + binA}}, err: ErrNotExecutable, code: 126},
		{name: "known user and group", spec: Spec{Argv: []string{"sh", "-c", "exit 0"}, Env: shEnv, User: "nobody", Group: "nogroup"}},
		{name: "numeric user", spec: Spec{Argv: []string{"sh", "-c", "exit 0"}, Env: shEnv, User: "4242"}},
		{name: "unknown user", spec: Spec{Argv: []string{"sh"}, Env: shEnv, User: "zkfence-no-such-user"}, err: ErrBadUser, code: 78},
		{name: "unknown group", spec: Spec{Argv: []string{"sh"}, Env: shEnv, Group: "zkfence-no-such-group"}, err: ErrBadUser, code: 78},
		{name: "malformed user", spec: Spec{Argv: []string{"sh"}, Env: shEnv, User: "post:gres"}, err: ErrBadUser, code: 78},
		{name: "the user before the command", spec: Spec{Argv: []string{"zkfence-no-such-command"}, Env: shEnv, User: "zkfence-no-such-user"}, err: ErrBadUser, code: 78},
		{name: "bad dir", spec: Spec{Argv: []string{"sh"}, Env: shEnv, Dir: "/nonexistent"}, code: 99},
		{name: "bad interpreter: only execve tells", spec: Spec{Argv: []string{badInterp}}, start: 127},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.unset {
				os.Unsetenv("PATH")
				defer os.Setenv("PATH", wrapperPath[len("PATH="):])
			}
			err := Check(c.spec)
			if (c.err != nil && !errors.Is(err, c.err)) || (c.code == 0 && err != nil) {
				t.Fatalf("Check: %v, want %v", err, c.err)
			}
			if got := ExitCodeOf(err); got != c.code {
				t.Errorf("ExitCodeOf(%v) = %d, want %d", err, got, c.code)
			}
			want := c.code
			if c.start != 0 {
				want = c.start
			}
			ch, err := Start(c.spec)
			if err == nil {
				stopT(t, ch)
			}
			if got := ExitCodeOf(err); got != want {
				t.Errorf("Start: %v (exit %d), want exit %d", err, got, want)
			}
		})
	}
}
