package supervise

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestZombiesReaped: a child that double-forks leaves orphans; whoever they
// are reparented to must reap them. As PID 1 all three inits do. Not as PID 1,
// zkwrap (a subreaper) and tini -s get the orphans and reap them; dumb-init
// is not a subreaper (the orphans would go to the test process), so it is
// compared only as PID 1. The control, a PID 1 that never waits (sleep),
// shows that the count sees zombies.
func TestZombiesReaped(t *testing.T) {
	const n = 5
	for _, pid1 := range []bool{true, false} {
		for _, kind := range allInits {
			if kind == kindDumbInit && !pid1 {
				continue
			}
			t.Run(fmt.Sprintf("%s/pid1=%v", kind, pid1), func(t *testing.T) {
				dir := t.TempDir()
				code, out := runInit(t, kind, pid1, nil, "sh", scripts+"/zombies.sh", strconv.Itoa(n), dir, "60")
				if code != 0 {
					t.Fatalf("exit %d, output:\n%s", code, out)
				}
				if got, want := readFile(t, dir+"/result"), fmt.Sprintf("zombies=0 reparented=%d", n); got != want {
					t.Errorf("got %q, want %q", got, want)
				}
			})
		}
	}
	t.Run("control: PID 1 never waits", func(t *testing.T) {
		dir := t.TempDir()
		r := startArgv(t, true, "sh", "-c",
			fmt.Sprintf("sh %s/zombies.sh %d %s 1 & exec sleep 600", scripts, n, dir))
		waitFor(t, "the result", func() bool { return exists(dir + "/result") })
		if got, want := readFile(t, dir+"/result"), fmt.Sprintf("zombies=%d reparented=%d", n, n); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
		r.signal(t, syscall.SIGKILL) // the namespace's init: everything in it dies
		r.wait()
	})
}

// commonSignals are the signals an orchestrator or an operator sends; each
// must reach the child.
var commonSignals = []syscall.Signal{
	syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGUSR1,
	syscall.SIGUSR2, syscall.SIGTERM, syscall.SIGWINCH, syscall.SIGCONT,
}

// TestSignalsReachChild sends every common signal to the init, as PID 1 from
// outside its namespace (as docker kill does), and waits for the child's trap
// to record it. All three inits deliver all of them.
func TestSignalsReachChild(t *testing.T) {
	for _, kind := range allInits {
		for _, pid1 := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/pid1=%v", kind, pid1), func(t *testing.T) {
				dir := t.TempDir()
				r := startInit(t, kind, pid1, nil, "sh", scripts+"/signals.sh", dir)
				waitFor(t, "the child's traps", func() bool { return exists(dir + "/ready") })
				for _, sig := range commonSignals {
					r.signal(t, sig)
					name := strings.TrimPrefix(SignalName(sig), "SIG")
					waitFor(t, name+" in the child's log", func() bool { return logHas(dir+"/log", name) })
				}
				if err := os.WriteFile(dir+"/done", nil, 0o644); err != nil {
					t.Fatal(err)
				}
				if code := r.wait(); code != 0 {
					t.Fatalf("exit %d, output:\n%s", code, r.out.String())
				}
			})
		}
	}
}

// TestSignalMapPostgres: with the postgres map, SIGTERM reaches the child as
// SIGINT (fast shutdown) and SIGHUP is unchanged.
func TestSignalMapPostgres(t *testing.T) {
	dir := t.TempDir()
	r := startInit(t, kindZkwrap, true, []string{"-engine", "postgres"}, "sh", scripts+"/signals.sh", dir)
	waitFor(t, "the child's traps", func() bool { return exists(dir + "/ready") })
	r.signal(t, syscall.SIGTERM)
	waitFor(t, "INT in the child's log", func() bool { return logHas(dir+"/log", "INT") })
	r.signal(t, syscall.SIGHUP)
	waitFor(t, "HUP in the child's log", func() bool { return logHas(dir+"/log", "HUP") })
	if err := os.WriteFile(dir+"/done", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(); code != 0 {
		t.Fatalf("exit %d, output:\n%s", code, r.out.String())
	}
	if got := readFile(t, dir+"/log"); got != "INT\nHUP" {
		t.Errorf("child's log %q, want INT then HUP (no TERM)", got)
	}
}

func logHas(path, name string) bool {
	b, _ := os.ReadFile(path)
	for _, l := range strings.Split(string(b), "\n") {
		if l == name {
			return true
		}
	}
	return false
}

// TestExitCodes: as PID 1, each init passes the child's code through, gives
// 128+N for a death by signal N, and for a command that cannot be run: zkwrap
// and tini 126 (not executable) and 127 (not found); dumb-init 2 for both.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "not-executable")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\nexit 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	type tc struct {
		name  string
		child []string
		want  map[initKind]int
	}
	all := func(code int) map[initKind]int {
		return map[initKind]int{kindZkwrap: code, kindTini: code, kindDumbInit: code}
	}
	var cases []tc
	for _, code := range []int{0, 1, 2, 3, 42, 99, 100, 126, 127, 128, 200, 254, 255} {
		cases = append(cases, tc{fmt.Sprintf("exit %d", code), []string{"sh", "-c", fmt.Sprintf("exit %d", code)}, all(code)})
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL, syscall.SIGUSR1, syscall.SIGINT} {
		name := strings.TrimPrefix(SignalName(sig), "SIG")
		cases = append(cases, tc{"killed by " + name, []string{"sh", "-c", "kill -" + name + " $$"}, all(128 + int(sig))})
	}
	cannot := func(code int) map[initKind]int {
		return map[initKind]int{kindZkwrap: code, kindTini: code, kindDumbInit: 2}
	}
	cases = append(cases,
		tc{"not found (path)", []string{"/nonexistent/command"}, cannot(127)},
		tc{"not found (PATH)", []string{"zkfence-no-such-command"}, cannot(127)},
		tc{"not executable", []string{notExec}, cannot(126)},
		tc{"a directory", []string{dir}, cannot(126)},
	)
	for _, c := range cases {
		for _, kind := range allInits {
			t.Run(c.name+"/"+string(kind), func(t *testing.T) {
				code, out := runInit(t, kind, true, nil, c.child...)
				if code != c.want[kind] {
					t.Errorf("exit %d, want %d; output:\n%s", code, c.want[kind], out)
				}
			})
		}
	}
	t.Run("zkwrap not PID 1", func(t *testing.T) {
		for _, code := range []int{0, 7, 255} {
			if got, out := runInit(t, kindZkwrap, false, nil, "sh", "-c", fmt.Sprintf("exit %d", code)); got != code {
				t.Errorf("exit %d, want %d; output:\n%s", got, code, out)
			}
		}
	})
}
