package main

import (
	"errors"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/zkfence/zkfence/restore"
)

// defaultBackupKeep is how many scheduled backups are kept by default.
const defaultBackupKeep = 7

// backupSchedule is what `zkfence run --backup-every/--backup-to` asks for:
// a backup every Every while the lock is held. Every is 0 when off. The run
// pipeline fills Config.Token (and UID/GID from --user, so that peer
// authentication sees the database's OS user) before it starts a
// restore.Scheduler.
type backupSchedule struct {
	Every  time.Duration
	Config restore.BackupConfig
}

// restoreFlags are `zkfence run`'s flags for restore at start and
// scheduled backups.
func restoreFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "data-dir", EnvVars: env("data-dir"),
			Usage: "the database's data `directory`: restored at start when missing or empty"},
		&cli.StringFlag{Name: "engine", EnvVars: env("engine"), Value: restore.Auto,
			Usage: "`engine` of the data directory: postgres, mysql (MySQL/MariaDB) or auto"},
		&cli.StringFlag{Name: "restore-from", EnvVars: env("restore-from"),
			Usage: "restore from this backup catalog `directory` (written by zkfence backup)"},
		&cli.StringFlag{Name: "restore-backup", EnvVars: env("restore-backup"),
			Usage: "restore exactly this backup `name` from the catalog (no fallback)"},
		&cli.StringFlag{Name: "restore-before", EnvVars: env("restore-before"),
			Usage: "restore the newest backup created at or before this `time` (RFC 3339)"},
		&cli.StringFlag{Name: "restore-cmd", EnvVars: env("restore-cmd"),
			Usage: "restore with this shell `command`: it fills $ZKFENCE_STAGING_DIR and exits 0"},
		&cli.DurationFlag{Name: "restore-timeout", EnvVars: env("restore-timeout"), Value: restore.DefaultCmdTimeout,
			Usage: "kill --restore-cmd after this long"},
		&cli.BoolFlag{Name: "restore-required", EnvVars: env("restore-required"),
			Usage: "refuse to start when the data directory needs a restore and there is no backup"},
		&cli.DurationFlag{Name: "backup-every", EnvVars: env("backup-every"),
			Usage: "take a backup this often while the lock is held (0: never)"},
		&cli.StringFlag{Name: "backup-to", EnvVars: env("backup-to"),
			Usage: "backup catalog `directory` for --backup-every"},
		&cli.IntFlag{Name: "backup-keep", EnvVars: env("backup-keep"), Value: defaultBackupKeep,
			Usage: "complete backups to keep in the catalog (0: all)"},
	}, dbConnFlags()...)
}

// dbConnFlags say how a backup tool reaches the running server. Passwords
// come from the tools' own environment (PGPASSWORD, MYSQL_PWD) or files.
func dbConnFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "db-socket", EnvVars: env("db-socket"),
			Usage: "PostgreSQL: socket `directory`; MySQL/MariaDB: socket file"},
		&cli.StringFlag{Name: "db-host", EnvVars: env("db-host"), Usage: "database `host`, instead of a socket"},
		&cli.IntFlag{Name: "db-port", EnvVars: env("db-port"), Usage: "database `port` (0: the tool's default)"},
		&cli.StringFlag{Name: "db-user", EnvVars: env("db-user"),
			Usage: "database `user` for backups (default postgres, or root for MySQL/MariaDB)"},
		&cli.StringFlag{Name: "db-defaults-file", EnvVars: env("db-defaults-file"),
			Usage: "MySQL/MariaDB: option `file` for mariadb-backup (--defaults-file)"},
	}
}

// restoreFromFlags reads restoreFlags into a restore.Config (UID and GID
// -1: the run pipeline resolves --user into them) and a backup schedule.
// Bad values are refused (exit 78) before anything runs.
func restoreFromFlags(c *cli.Context) (restore.Config, backupSchedule, error) {
	cfg := restore.Config{
		Engine: c.String("engine"), From: c.String("restore-from"), Backup: c.String("restore-backup"),
		Cmd: c.String("restore-cmd"), CmdTimeout: c.Duration("restore-timeout"),
		Required: c.Bool("restore-required"), UID: -1, GID: -1,
	}
	var err error
	if cfg.DataDir, err = absFlag(c, "data-dir"); err != nil {
		return cfg, backupSchedule{}, err
	}
	if cfg.From, err = absFlag(c, "restore-from"); err != nil {
		return cfg, backupSchedule{}, err
	}
	if s := c.String("restore-before"); s != "" {
		if cfg.Before, err = time.Parse(time.RFC3339, s); err != nil {
			return cfg, backupSchedule{}, refused("--restore-before %q: want an RFC 3339 time such as 2025-01-31T23:00:00Z", s)
		}
	}
	if c.IsSet("restore-timeout") && cfg.CmdTimeout <= 0 {
		return cfg, backupSchedule{}, refused("--restore-timeout must be positive, got %s", cfg.CmdTimeout)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, backupSchedule{}, refusedFrom(err)
	}
	sched, err := scheduleFromFlags(c, cfg)
	return cfg, sched, err
}

// scheduleFromFlags reads --backup-every, --backup-to and --backup-keep.
func scheduleFromFlags(c *cli.Context, cfg restore.Config) (backupSchedule, error) {
	every := c.Duration("backup-every")
	to, err := absFlag(c, "backup-to")
	if err != nil {
		return backupSchedule{}, err
	}
	switch {
	case every < 0:
		return backupSchedule{}, refused("--backup-every must not be negative, got %s", every)
	case every == 0 && to != "":
		return backupSchedule{}, refused("--backup-to needs --backup-every")
	case every == 0:
		return backupSchedule{}, nil
	case to == "":
		return backupSchedule{}, refused("--backup-every needs --backup-to")
	case cfg.Engine != restore.Postgres && cfg.Engine != restore.MySQL:
		return backupSchedule{}, refused("--backup-every needs --engine postgres or mysql, not %q", cfg.Engine)
	case cfg.Engine == restore.MySQL && cfg.DataDir == "":
		return backupSchedule{}, refused("--backup-every with --engine mysql needs --data-dir (mariadb-backup reads it)")
	}
	bc := restore.BackupConfig{Engine: cfg.Engine, To: to, Keep: c.Int("backup-keep"), DataDir: cfg.DataDir,
		Conn: connFromFlags(c), UID: -1, GID: -1}
	if err := bc.Validate(); err != nil {
		return backupSchedule{}, refusedFrom(err)
	}
	return backupSchedule{Every: every, Config: bc}, nil
}

func connFromFlags(c *cli.Context) restore.Conn {
	return restore.Conn{Socket: c.String("db-socket"), Host: c.String("db-host"), Port: c.Int("db-port"),
		User: c.String("db-user"), DefaultsFile: c.String("db-defaults-file")}
}

// absFlag returns a path flag made absolute ("" when not set).
func absFlag(c *cli.Context, name string) (string, error) {
	p := c.String(name)
	if p == "" {
		return "", nil
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", refused("--%s %q: %v", name, p, err)
	}
	return abs, nil
}

// refusedFrom turns the restore package's refusal into the command line's.
func refusedFrom(err error) error {
	if errors.Is(err, restore.ErrRefused) {
		return refused("%v", err)
	}
	return err
}
