package fstest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// run runs a program and returns its trimmed stdout; its error carries the
// command and its output.
func run(name string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %w: %s%s", strings.Join(cmd.Args, " "), err, stderr.String(), stdout.String())
	}
	return strings.TrimSpace(stdout.String()), nil
}

// exitCode runs a program and returns its exit code and combined output.
func exitCode(name string, args ...string) (int, string, error) {
	cmd := exec.Command(name, args...)
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState == nil {
		return -1, string(out), fmt.Errorf("%s: %w", strings.Join(cmd.Args, " "), err)
	}
	return cmd.ProcessState.ExitCode(), string(out), nil
}

// RequireRoot skips t under -short, and when not running as root (these
// tests mount, attach loop devices and start FUSE daemons).
func RequireRoot(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("real mounts: skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("real mounts need root")
	}
}
