package restore

import (
	"bufio"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

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
