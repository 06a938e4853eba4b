package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"os/user"
	"strconv"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/zkfence/zkfence/restore"
)

// backupCommand is `zkfence backup`: one backup of a running server into a
// catalog that `zkfence run --restore-from` reads, then retention.
func backupCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "engine", EnvVars: env("engine"), Required: true,
			Usage: "`engine` to back up: postgres or mysql (MySQL/MariaDB)"},
		&cli.StringFlag{Name: "to", EnvVars: env("backup-to"), Required: true,
			Usage: "backup catalog `directory`"},
		&cli.IntFlag{Name: "keep", EnvVars: env("backup-keep"), Value: defaultBackupKeep,
			Usage: "complete backups of this engine to keep (0: all); incomplete ones older than a day are removed"},
		&cli.StringFlag{Name: "data-dir", EnvVars: env("data-dir"),
			Usage: "the server's data `directory` (required for mysql: mariadb-backup reads it)"},
		&cli.StringFlag{Name: "user", EnvVars: env("user"),
			Usage: "run the backup tool as this OS `user` (name or uid), e.g. postgres for peer authentication"},
		&cli.StringFlag{Name: "tool", EnvVars: env("backup-tool"),
			Usage: "`path` of pg_basebackup or mariadb-backup/xtrabackup (default: found in PATH)"},
	}
	flags = append(append(flags, dbConnFlags()...), logFlags()...)
	return &cli.Command{
		Name:   "backup",
		Usage:  "back a running PostgreSQL or MySQL/MariaDB up into a catalog that run --restore-from reads",
		Flags:  flags,
		Action: backupAction,
	}
}

func backupAction(c *cli.Context) error {
	log, err := newLogger(c, os.Stderr)
	if err != nil {
		return err
	}
	cfg, err := backupConfigFromFlags(c)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	m, err := restore.Backup(ctx, cfg, log)
	if err != nil {
		return refusedFrom(err)
	}
	fmt.Fprintln(c.App.Writer, m.Name)
	return nil
}

// backupConfigFromFlags reads `zkfence backup`'s flags; bad values are
// refused (exit 78).
func backupConfigFromFlags(c *cli.Context) (restore.BackupConfig, error) {
	cfg := restore.BackupConfig{Engine: c.String("engine"), Keep: c.Int("keep"), Conn: connFromFlags(c),
		Tool: c.String("tool"), UID: -1, GID: -1}
	var err error
	if cfg.To, err = absFlag(c, "to"); err != nil {
		return cfg, err
	}
	if cfg.DataDir, err = absFlag(c, "data-dir"); err != nil {
		return cfg, err
	}
	if cfg.Engine == restore.MySQL && cfg.DataDir == "" {
		return cfg, refused("--engine mysql needs --data-dir (mariadb-backup reads the server's files)")
	}
	if name := c.String("user"); name != "" {
		if cfg.UID, cfg.GID, err = lookupOSUser(name); err != nil {
			return cfg, refused("--user %q: %v", name, err)
		}
	}
	return cfg, refusedFrom(cfg.Validate())
}

// lookupOSUser resolves a user name or numeric uid to uid and primary gid.
func lookupOSUser(name string) (int, int, error) {
	u, err := user.Lookup(name)
	if err != nil {
		if _, numErr := strconv.Atoi(name); numErr != nil {
			return 0, 0, err
		}
		if u, err = user.LookupId(name); err != nil {
			return 0, 0, err
		}
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return 0, 0, err
	}
	gid, err := strconv.Atoi(u.Gid)
	return uid, gid, err
}
