package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// agentMetadata is what the test agents answer to action=metadata: enough
// for zkfence (off and status, no automatic unfencing).
const agentMetadata = `<?xml version="1.0" ?>
<resource-agent name="fence_test" shortdesc="test agent">
<parameters><parameter name="action"/><parameter name="plug"/><parameter name="state_dir"/></parameters>
<actions><action name="on"/><action name="off"/><action name="status"/><action name="monitor"/><action name="metadata"/></actions>
</resource-agent>`

// writeAgent writes a fence agent script into a directory of its own: it
// logs each call's action and plug to calls.log there ("<unix-nanos>
// <action> <plug>"), answers metadata, and runs body with $action, $plug
// and $dir set.
func writeAgent(t *testing.T, body string) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "fence_test")
	script := "#!/bin/sh\ndir='" + dir + "'\ninput=$(cat)\n" +
		"get() { printf '%s\\n' \"$input\" | sed -n \"s/^$1=//p\" | tail -n 1; }\n" +
		"action=$(get action); plug=$(get plug)\n" +
		"echo \"$(date +%s%N) $action $plug\" >> \"$dir/calls.log\"\n" +
		"if [ \"$action\" = metadata ]; then cat <<'EOF'\n" + agentMetadata + "\nEOF\nexit 0; fi\n" + body
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

// agentCalls is calls.log of an agent written by writeAgent: "action plug".
func agentCalls(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "calls.log"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var calls []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if f := strings.Fields(line); len(f) >= 2 {
			calls = append(calls, strings.Join(f[1:], " "))
		}
	}
	return calls
}

// startNodeWrapper is startWrapper for a wrapper that stands for a whole
// node: it runs in a process group of its own, which a test fence agent
// kills to power the "node" off.
func startNodeWrapper(t *testing.T, env []string, args ...string) *wrapper {
	t.Helper()
	return launchWrapper(t, true, env, args)
}

// logCount counts the log lines of w that contain s.
func logCount(w *wrapper, s string) int {
	return strings.Count(w.log(), s)
}

func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}
