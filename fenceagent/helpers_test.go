package fenceagent

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zkfence/zkfence/internal/testlog"
)

// fakeScript speaks the fence agent protocol: it appends its stdin to
// stdin.log (each call ended by a line "."), runs hook.<action> when there
// is one (sourced, with $input holding its stdin), and exits with the first
// line of codes.<action> (0 when absent), consuming it while more remain.
const fakeScript = `#!/bin/sh
dir='%s'
input=$(cat)
printf '%%s\n.\n' "$input" >> "$dir/stdin.log"
action=$(printf '%%s\n' "$input" | sed -n 's/^action=//p' | tail -n 1)
if [ -f "$dir/hook.$action" ]; then . "$dir/hook.$action"; fi
code=0
if [ -f "$dir/codes.$action" ]; then
	code=$(head -n 1 "$dir/codes.$action")
	if [ "$(wc -l < "$dir/codes.$action")" -gt 1 ]; then sed -i 1d "$dir/codes.$action"; fi
fi
exit $code
`

// fake is a scripted agent in a directory of its own.
type fake struct {
	t   *testing.T
	dir string
	log *testlog.Buffer // what the Agent logged, at debug level
}

func newFake(t *testing.T) (*fake, *Agent) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "fence_fake")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(fakeScript, dir)), 0o755); err != nil {
		t.Fatal(err)
	}
	f := &fake{t: t, dir: dir, log: &testlog.Buffer{}}
	a := &Agent{Path: path, Timeout: 5 * time.Second, ConfirmInterval: 50 * time.Millisecond, ConfirmAttempts: 3,
		Log: slog.New(slog.NewTextHandler(f.log, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	return f, a
}

// codes sets the exit codes of action, one per call, the last repeated.
func (f *fake) codes(action string, codes ...int) {
	var b strings.Builder
	for _, c := range codes {
		fmt.Fprintf(&b, "%d\n", c)
	}
	f.write("codes."+action, b.String())
}

// hook sets shell code run for action before it exits.
func (f *fake) hook(action, code string) { f.write("hook."+action, code) }

func (f *fake) write(name, content string) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, name), []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// calls returns the stdin of every call so far, in order.
func (f *fake) calls() []string {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, "stdin.log"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	s := strings.TrimSuffix(string(b), "\n.\n")
	return strings.Split(s, "\n.\n")
}

// actions returns the action of every call so far.
func (f *fake) actions() []string {
	var out []string
	for _, c := range f.calls() {
		for _, l := range strings.Split(c, "\n") {
			if v, ok := strings.CutPrefix(l, "action="); ok {
				out = append(out, v)
			}
		}
	}
	return out
}
