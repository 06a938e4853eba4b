package restore

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"syscall"

	"github.com/zkfence/zkfence/internal/heldexec"
)

// runTool runs a backup tool with its output in the log, as cfg's user,
// under the lock (package heldexec): killed whole when ctx ends.
func runTool(ctx context.Context, cfg BackupConfig, log *slog.Logger, name string, args ...string) error {
	cmd := heldexec.Command(ctx, name, args...)
	out := newLineLogger(log.With("tool", filepath.Base(name)), slog.LevelDebug, "backup tool")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr.Credential = credential(cfg.UID, cfg.GID)
	cmd.Dir = "/"
	err := heldexec.Run(cmd)
	out.Flush()
	if err != nil {
		return fmt.Errorf("%s: %w; its last lines:\n%s", filepath.Base(name), err, out.Tail())
	}
	return nil
}

// credential is the identity to run a tool as; nil keeps zkfence's.
func credential(uid, gid int) *syscall.Credential {
	if uid < 0 && gid < 0 || uid == os.Getuid() && (gid < 0 || gid == os.Getgid()) {
		return nil
	}
	c := &syscall.Credential{Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid()), NoSetGroups: true}
	if uid >= 0 {
		c.Uid = uint32(uid)
	}
	if gid >= 0 {
		c.Gid = uint32(gid)
	}
	return c
}

var majorRe = regexp.MustCompile(`/(\d+)(\.\d+)?/`)

// versionIn is the major version in a path like /usr/lib/postgresql/15/bin.
func versionIn(p string) int {
	m := majorRe.FindStringSubmatch(p)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// findTool returns override, or the first of names found in PATH, or in
// the extra directories (newest first).
func findTool(override string, names []string, extra []string) (string, error) {
	if override != "" {
		return override, nil
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	for _, pattern := range extra {
		matches, _ := filepath.Glob(pattern)
		slices.SortFunc(matches, func(a, b string) int { return versionIn(a) - versionIn(b) })
		if len(matches) > 0 {
			return matches[len(matches)-1], nil
		}
	}
	return "", fmt.Errorf("none of %v found: install it (Debian: postgresql-client-15 / mariadb-backup)", names)
}
