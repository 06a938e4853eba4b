package main

import (
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/zkfence/zkfence/exitcode"
	"github.com/zkfence/zkfence/restore"
)

// parseRestoreFlags runs restoreFromFlags on args, as `zkfence run` would.
func parseRestoreFlags(t *testing.T, args ...string) (restore.Config, backupSchedule, error) {
	t.Helper()
	var cfg restore.Config
	var sched backupSchedule
	var ferr error
	app := &cli.App{Writer: io.Discard, ErrWriter: io.Discard, ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{{Name: "run", Flags: restoreFlags(), Action: func(c *cli.Context) error {
			cfg, sched, ferr = restoreFromFlags(c)
			return nil
		}}}}
	if err := app.Run(append([]string{"zkfence", "run"}, args...)); err != nil {
		return cfg, sched, err
	}
	return cfg, sched, ferr
}

func TestRestoreFlags(t *testing.T) {
	cfg, sched, err := parseRestoreFlags(t, "--data-dir", "/data/pg", "--engine", "postgres",
		"--restore-from", "/backups", "--restore-before", "2025-01-31T23:00:00Z", "--restore-required",
		"--backup-every", "1h", "--backup-to", "/backups", "--backup-keep", "3", "--db-socket", "/run/postgresql")
	if err != nil {
		t.Fatal(err)
	}
	want := restore.Config{DataDir: "/data/pg", Engine: "postgres", From: "/backups",
		Before: time.Date(2025, 1, 31, 23, 0, 0, 0, time.UTC), Required: true, CmdTimeout: time.Hour, UID: -1, GID: -1}
	if !cfg.Before.Equal(want.Before) {
		t.Fatalf("Before = %v", cfg.Before)
	}
	cfg.Before = want.Before
	if cfg != want {
		t.Fatalf("config = %+v\nwant     %+v", cfg, want)
	}
	if sched.Every != time.Hour || sched.Config.To != "/backups" || sched.Config.Keep != 3 ||
		sched.Config.Conn.Socket != "/run/postgresql" || sched.Config.Engine != "postgres" || sched.Config.UID != -1 {
		t.Fatalf("schedule = %+v", sched)
	}
}

func TestRestoreFlagsFromEnvironment(t *testing.T) {
	t.Setenv("ZKFENCE_DATA_DIR", "rel/data")
	t.Setenv("ZKFENCE_RESTORE_CMD", "restore.sh")
	t.Setenv("ZKFENCE_RESTORE_TIMEOUT", "5m")
	cfg, sched, err := parseRestoreFlags(t)
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("rel/data")
	if cfg.DataDir != abs || cfg.Cmd != "restore.sh" || cfg.CmdTimeout != 5*time.Minute || cfg.Engine != restore.Auto {
		t.Fatalf("config = %+v", cfg)
	}
	if sched.Every != 0 {
		t.Fatalf("schedule on without --backup-every: %+v", sched)
	}
}

func TestRestoreFlagsRefused(t *testing.T) {
	for _, args := range [][]string{
		{"--data-dir", "/d", "--engine", "oracle"},
		{"--data-dir", "/d", "--restore-from", "/b", "--restore-cmd", "x"},
		{"--data-dir", "/d", "--restore-from", "/b", "--restore-before", "yesterday"},
		{"--data-dir", "/d", "--restore-cmd", "x", "--restore-timeout", "0s"},
		{"--data-dir", "/d", "--restore-required"},
		{"--restore-from", "/b"},
		{"--data-dir", "/", "--restore-from", "/b"},
		{"--data-dir", "/d", "--restore-backup", "../x", "--restore-from", "/b"},
		{"--data-dir", "/d", "--engine", "postgres", "--backup-every", "1h"},
		{"--data-dir", "/d", "--engine", "postgres", "--backup-to", "/b"},
		{"--data-dir", "/d", "--backup-every", "1h", "--backup-to", "/b"}, // engine auto
		{"--data-dir", "/d", "--engine", "postgres", "--backup-every", "-1h", "--backup-to", "/b"},
		{"--data-dir", "/d", "--engine", "postgres", "--backup-every", "1h", "--backup-to", "/b", "--backup-keep", "-1"},
		{"--engine", "mysql", "--backup-every", "1h", "--backup-to", "/b"},
	} {
		_, _, err := parseRestoreFlags(t, args...)
		if err == nil || !errors.Is(err, errRefused) || exitCodeOf(err) != exitcode.RefusedConfig {
			t.Errorf("%s: err = %v, want a refusal (exit 78)", strings.Join(args, " "), err)
		}
	}
}
