package restore

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// pgTool backs PostgreSQL up with pg_basebackup in plain format with the
// WAL streamed alongside (-X stream), so the copy starts by itself: the
// server replays the included WAL from backup_label and comes up
// consistent. -c fast asks for an immediate checkpoint.
type pgTool struct{}

var pgBasebackup = []string{"pg_basebackup"}
var pgExtra = []string{"/usr/lib/postgresql/*/bin/pg_basebackup"}

func (pgTool) take(ctx context.Context, cfg BackupConfig, dir string, log *slog.Logger) error {
	tool, err := findTool(cfg.Tool, pgBasebackup, pgExtra)
	if err != nil {
		return err
	}
	args := []string{"-D", dir, "-Fp", "-X", "stream", "-c", "fast", "--no-password",
		"--label", "zkfence " + filepath.Base(filepath.Dir(dir))}
	if h := firstNonEmpty(cfg.Conn.Socket, cfg.Conn.Host); h != "" {
		args = append(args, "-h", h)
	}
	if cfg.Conn.Port != 0 {
		args = append(args, "-p", strconv.Itoa(cfg.Conn.Port))
	}
	args = append(args, "-U", firstNonEmpty(cfg.Conn.User, "postgres"))
	return runTool(ctx, cfg, log, tool, args...)
}

// describe reads the major version from the copy's PG_VERSION and asks the
// tool for its own version.
func (pgTool) describe(ctx context.Context, cfg BackupConfig, dir string) (string, string) {
	b, _ := os.ReadFile(filepath.Join(dir, "PG_VERSION"))
	tool, _ := findTool(cfg.Tool, pgBasebackup, pgExtra)
	return strings.TrimSpace(string(b)), toolVersion(ctx, tool)
}

// toolVersion is the first line of `tool --version`, or the tool's name.
func toolVersion(ctx context.Context, tool string) string {
	out, err := exec.CommandContext(ctx, tool, "--version").CombinedOutput()
	if err != nil {
		return filepath.Base(tool)
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
