package main

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zkfence/zkfence/exitcode"
	"github.com/zkfence/zkfence/internal/dbtest"
	"github.com/zkfence/zkfence/restore"
)

// runBackup runs the built binary's backup command.
func runBackup(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"backup"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), out.String(), errb.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String(), errb.String()
}

func TestBackupCommandRefusesBadFlags(t *testing.T) {
	needBinaryAndZK(t) // needs the built binary
	for _, args := range [][]string{
		{"--to", "/tmp/x"},
		{"--engine", "oracle", "--to", "/tmp/x"},
		{"--engine", "mysql", "--to", "/tmp/x"},
		{"--engine", "postgres", "--to", "/tmp/x", "--keep", "-2"},
		{"--engine", "postgres", "--to", "/tmp/x", "--user", "no-such-user-zkfence"},
	} {
		code, _, stderr := runBackup(t, args...)
		if code != exitcode.RefusedConfig {
			t.Errorf("backup %s: exit %d, want %d\n%s", strings.Join(args, " "), code, exitcode.RefusedConfig, stderr)
		}
	}
}

func TestBackupCommandPostgres(t *testing.T) {
	needBinaryAndZK(t) // needs the built binary; also a real PostgreSQL
	dir := dbtest.TempDir(t)
	data, sock, cat := filepath.Join(dir, "pg"), filepath.Join(dir, "sock"), filepath.Join(dir, "backups")
	if err := dbtest.Init(dbtest.Postgres, data); err != nil {
		t.Fatal(err)
	}
	srv, err := dbtest.Start(dbtest.Postgres, data, sock)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Kill()
	var names []string
	for range 2 {
		code, stdout, stderr := runBackup(t, "--engine", "postgres", "--to", cat, "--keep", "1",
			"--db-socket", sock, "--user", "postgres")
		if code != 0 {
			t.Fatalf("backup exit %d:\n%s", code, stderr)
		}
		names = append(names, strings.TrimSpace(stdout))
	}
	entries, err := restore.List(cat)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name != names[1] || !entries[0].Complete() {
		t.Fatalf("catalog after two backups with --keep 1: %+v (printed %v)", entries, names)
	}
	if m := entries[0].Manifest; m.Engine != "postgres" || m.Version != "15" || !strings.Contains(m.Tool, "pg_basebackup") {
		t.Fatalf("manifest %+v", m)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
}
