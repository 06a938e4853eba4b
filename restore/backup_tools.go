package restore

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
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

// mysqlTool backs MySQL/MariaDB up physically: mariadb-backup --backup
// copies the files of the running server, then --prepare applies the redo
// log, so the copy is a consistent data directory mariadbd starts from as
// is (no --copy-back needed: the built-in restore is the copy-back).
// xtrabackup takes the same options, for Oracle MySQL.
//
// A logical dump (mysqldump) is not offered: restoring it means starting a
// server on the staging directory and loading SQL, which is slow and is not
// a directory that can be renamed into place.
type mysqlTool struct{}

var mysqlBackupTools = []string{"mariadb-backup", "mariabackup", "xtrabackup"}

func (mysqlTool) take(ctx context.Context, cfg BackupConfig, dir string, log *slog.Logger) error {
	tool, err := findTool(cfg.Tool, mysqlBackupTools, nil)
	if err != nil {
		return err
	}
	var common []string
	if cfg.Conn.DefaultsFile != "" {
		common = append(common, "--defaults-file="+cfg.Conn.DefaultsFile) // must come first
	}
	args := append(common, "--backup", "--target-dir="+dir, "--user="+firstNonEmpty(cfg.Conn.User, "root"))
	if cfg.DataDir != "" {
		args = append(args, "--datadir="+cfg.DataDir)
	}
	if cfg.Conn.Socket != "" {
		args = append(args, "--socket="+cfg.Conn.Socket)
	}
	if cfg.Conn.Host != "" {
		args = append(args, "--host="+cfg.Conn.Host)
	}
	if cfg.Conn.Port != 0 {
		args = append(args, "--port="+strconv.Itoa(cfg.Conn.Port))
	}
	if err := runTool(ctx, cfg, log, tool, args...); err != nil {
		return err
	}
	return runTool(ctx, cfg, log, tool, append(common, "--prepare", "--target-dir="+dir)...)
}

// describe reads the server's and the tool's versions from xtrabackup_info.
func (mysqlTool) describe(_ context.Context, _ BackupConfig, dir string) (string, string) {
	info := readKV(filepath.Join(dir, "xtrabackup_info"))
	tool := strings.TrimSpace(info["tool_name"] + " " + info["tool_version"])
	return info["server_version"], tool
}

// readKV reads "key = value" lines.
func readKV(path string) map[string]string {
	out := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out
}

// maxLine caps one logged line of a script's output.
const maxLine = 4096

// tailLines are kept for an error message when a tool fails.
const tailLines = 15

// lineLogger logs what a script writes, one log record per line.
type lineLogger struct {
	mu    sync.Mutex
	log   *slog.Logger
	level slog.Level
	what  string
	buf   []byte
	tail  []string
}

func newLineLogger(log *slog.Logger, level slog.Level, what string) *lineLogger {
	return &lineLogger{log: log, level: level, what: what}
}

// Tail returns the last lines written, for an error message.
func (l *lineLogger) Tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.tail, "\n")
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.emit(l.buf[:i])
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > maxLine {
		l.emit(l.buf)
		l.buf = nil
	}
	return len(p), nil
}

// Flush logs a last line without a newline.
func (l *lineLogger) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.emit(l.buf)
		l.buf = nil
	}
}

func (l *lineLogger) emit(line []byte) {
	s := string(bytes.TrimRight(line, "\r"))
	l.log.Log(context.Background(), l.level, l.what, "line", s)
	if l.tail = append(l.tail, s); len(l.tail) > tailLines {
		l.tail = l.tail[1:]
	}
}
