package restore

import (
	"github.com/zkfence/zkfence/internal/durable"

	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"
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
