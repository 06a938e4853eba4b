package restore

import (
	"fmt"
	"path/filepath"
	"time"
)

// DefaultStaleAfter is the age after which retention removes an incomplete
// backup: older than any backup that is still being written.
const DefaultStaleAfter = 24 * time.Hour

// BackupConfig says what to back up, how to reach the server, and where to.
type BackupConfig struct {
	Engine string // "postgres" or "mysql"
	To     string // the catalog
	Keep   int    // complete backups of this engine to keep; 0 keeps all
	// DataDir is the server's data directory: mariadb-backup reads the
	// files from it (passed as --datadir); unused for postgres.
	DataDir string
	Conn    Conn
	// UID and GID run the backup tool as that user (-1: as zkfence), so
	// that peer authentication sees the database's OS user.
	UID, GID int
	// Token, when non-zero, is recorded in the manifest.
	Token int64
	// StaleAfter: 0 is DefaultStaleAfter.
	StaleAfter time.Duration
	// Tool overrides the path of pg_basebackup or mariadb-backup
	// (xtrabackup, whose options are the same, works for MySQL).
	Tool string
}

// Conn is how the backup tool reaches the running server. Passwords come
// from the tools' own environment (PGPASSWORD, ~/.pgpass; MYSQL_PWD) or a
// defaults file, never from zkfence's flags.
type Conn struct {
	Host         string // PostgreSQL: host or socket directory; MySQL: host
	Port         int    // 0: the tool's default
	Socket       string // MySQL: socket file; PostgreSQL: socket directory (same as Host)
	User         string // "" : postgres for PostgreSQL, root for MySQL
	DefaultsFile string // MySQL: --defaults-file for mariadb-backup
}

// Validate checks a backup configuration without touching anything; its
// errors wrap ErrRefused.
func (c BackupConfig) Validate() error {
	if _, ok := engines[c.Engine]; !ok {
		return refusedf("backup engine %q: want postgres or mysql", c.Engine)
	}
	if c.To == "" || !filepath.IsAbs(c.To) {
		return refusedf("backup destination %q: want an absolute directory", c.To)
	}
	if c.Keep < 0 || c.StaleAfter < 0 || c.Conn.Port < 0 || c.Conn.Port > 65535 {
		return refusedf("--keep, ports and ages must not be negative (keep %d, port %d)", c.Keep, c.Conn.Port)
	}
	if c.UID < -1 || c.GID < -1 {
		return refusedf("backup user %d:%d: want ids >= 0, or -1", c.UID, c.GID)
	}
	if c.Engine == Postgres && c.Conn.Socket != "" && c.Conn.Host != "" && c.Conn.Socket != c.Conn.Host {
		return refusedf("postgres: give the socket directory or a host, not both")
	}
	return nil
}

func (c BackupConfig) staleAfter() time.Duration {
	if c.StaleAfter == 0 {
		return DefaultStaleAfter
	}
	return c.StaleAfter
}

func backupFailedf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBackupFailed}, args...)...)
}
