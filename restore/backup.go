package restore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/zkfence/zkfence/internal/durable"
)

// backupTool is an engine's way of writing a consistent copy of a running
// server's data directory into dir (which it creates).
type backupTool interface {
	take(ctx context.Context, cfg BackupConfig, dir string, log *slog.Logger) error
	// describe returns the server's version and the tool's, from the copy.
	describe(ctx context.Context, cfg BackupConfig, dir string) (version, tool string)
}

var backupTools = map[string]backupTool{Postgres: pgTool{}, MySQL: mysqlTool{}}

// Backup takes a backup into cfg.To with the engine's own tool, then prunes
// the catalog. The backup exists only once its manifest (written last,
// atomically) says complete; a failed backup's directory is removed, and a
// crashed one is ignored by Run and pruned once stale. Errors wrap
// ErrRefused (bad cfg) or ErrBackupFailed.
func Backup(ctx context.Context, cfg BackupConfig, log *slog.Logger) (Manifest, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := cfg.Validate(); err != nil {
		return Manifest{}, err
	}
	start := time.Now()
	dir, name, err := newBackupDir(cfg, start)
	if err != nil {
		return Manifest{}, backupFailedf("%v", err)
	}
	log.Info("backup starting", "engine", cfg.Engine, "backup", name, "to", cfg.To)
	m, err := takeBackup(ctx, cfg, dir, name, start, log)
	if err != nil {
		os.RemoveAll(dir)
		return Manifest{}, backupFailedf("%s: %v", name, err)
	}
	log.Info("backup complete", "backup", name, "bytes", m.Bytes, "files", len(m.Files),
		"duration", time.Since(start).Round(time.Millisecond))
	if err := Prune(cfg.To, cfg.Engine, cfg.Keep, cfg.staleAfter(), log); err != nil {
		log.Warn("pruning the backup catalog failed", "err", err)
	}
	return m, nil
}

// takeBackup runs the tool, then describes what it wrote in the manifest.
func takeBackup(ctx context.Context, cfg BackupConfig, dir, name string, start time.Time, log *slog.Logger) (Manifest, error) {
	tool := backupTools[cfg.Engine]
	data := filepath.Join(dir, DataSubdir)
	if err := tool.take(ctx, cfg, data, log); err != nil {
		return Manifest{}, err
	}
	m, err := scanData(ctx, data)
	if err != nil {
		return Manifest{}, err
	}
	host, _ := os.Hostname()
	m.Format, m.Name, m.Engine, m.Created, m.Host, m.Token = FormatVersion, name, cfg.Engine, start.UTC(), host, cfg.Token
	m.Version, m.Tool = tool.describe(ctx, cfg, data)
	if err := m.validate(); err != nil {
		return Manifest{}, err
	}
	if err := durable.SyncDir(dir); err != nil {
		return Manifest{}, err
	}
	m.Complete = true
	return m, writeManifest(dir, m)
}

// newBackupDir creates <To>/<UTC time>-<engine>[-N] for one backup, owned
// by the user the tool runs as.
func newBackupDir(cfg BackupConfig, t time.Time) (dir, name string, err error) {
	if err := os.MkdirAll(cfg.To, 0o755); err != nil {
		return "", "", err
	}
	base := t.UTC().Format("20060102T150405Z") + "-" + cfg.Engine
	for i := 0; i < 100; i++ {
		name = base
		if i > 0 {
			name = fmt.Sprintf("%s-%d", base, i)
		}
		dir = filepath.Join(cfg.To, name)
		err = os.Mkdir(dir, 0o700)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", "", err
		}
		if c := credential(cfg.UID, cfg.GID); c != nil {
			err = os.Lchown(dir, int(c.Uid), int(c.Gid)) // the tool writes into it
		}
		return dir, name, err
	}
	return "", "", fmt.Errorf("no free backup name like %s in %s", base, cfg.To)
}

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

// Scheduler takes a backup every interval while it runs. The run pipeline
// starts it once the child runs with the lock held, and stops it when the
// lock is lost or the child exits: Stop cancels a backup in flight (its
// directory is removed, or pruned later if zkfence dies) and waits for it.
type Scheduler struct {
	cfg    BackupConfig
	every  time.Duration
	log    *slog.Logger
	onDone func(Manifest, error) // tests

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// NewScheduler returns a scheduler for cfg every interval (> 0). onDone,
// if not nil, is called after every backup with its result.
func NewScheduler(cfg BackupConfig, every time.Duration, log *slog.Logger, onDone func(Manifest, error)) *Scheduler {
	if log == nil {
		log = slog.Default()
	}
	return &Scheduler{cfg: cfg, every: every, log: log, onDone: onDone}
}

// Start begins the schedule: the first backup one interval from now, since
// the server has just started. A failed backup is logged and retried at the
// next tick; it never stops the child. Start after Start is a no-op.
func (s *Scheduler) Start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done != nil {
		return
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go s.loop(ctx, s.done)
}

// Stop cancels the schedule and any backup in flight, and waits for them.
func (s *Scheduler) Stop() {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

func (s *Scheduler) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		m, err := Backup(ctx, s.cfg, s.log)
		if err != nil && ctx.Err() == nil {
			s.log.Error("scheduled backup failed; retrying at the next interval", "err", err, "every", s.every)
		}
		if s.onDone != nil {
			s.onDone(m, err)
		}
	}
}

// Prune applies retention to a catalog: of the complete backups of engine,
// the keep newest stay (keep 0 keeps all); incomplete backups (no complete
// manifest) older than staleAfter are removed, since no backup still being
// written is that old. A backup whose manifest is unreadable or invalid is
// left for an operator to look at. A complete backup loses its manifest
// first, so that a removal cut short leaves an incomplete backup, never a
// complete-looking one with files missing.
func Prune(catalog, engine string, keep int, staleAfter time.Duration, log *slog.Logger) error {
	entries, err := List(catalog)
	if err != nil {
		return err
	}
	kept := 0
	var errs []error
	for _, e := range entries { // complete ones come first, newest first
		switch {
		case e.Complete() && e.Manifest.Engine == engine:
			kept++
			if keep == 0 || kept <= keep {
				continue
			}
			log.Info("retention: removing backup", "backup", e.Name, "created", e.Manifest.Created, "keep", keep)
		case errors.Is(e.Err, errIncomplete) && time.Since(e.ModTime) > staleAfter:
			log.Warn("retention: removing an incomplete backup", "backup", e.Name, "modified", e.ModTime)
		default:
			if e.Err != nil && !errors.Is(e.Err, errIncomplete) {
				log.Warn("retention: leaving a backup whose manifest is invalid", "backup", e.Name, "err", e.Err)
			}
			continue
		}
		errs = append(errs, removeBackup(e.Dir))
	}
	return errors.Join(errs...)
}

// removeBackup removes one backup directory, its manifest first.
func removeBackup(dir string) error {
	if err := os.Remove(filepath.Join(dir, ManifestName)); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	if err := durable.SyncDir(dir); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}
