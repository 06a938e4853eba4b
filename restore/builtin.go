package restore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/zkfence/zkfence/internal/durable"
)

// fromCatalog restores the first candidate backup that verifies, skipping
// corrupt ones (unless one was named) with a warning.
func fromCatalog(ctx context.Context, cfg Config, want string, t target, log *slog.Logger) (Result, error) {
	entries, err := List(cfg.From)
	if err != nil {
		return Result{}, failedf("read catalog %s: %v", cfg.From, err)
	}
	cands, err := candidates(entries, cfg, want)
	if err != nil {
		return Result{}, err
	}
	for i, e := range cands {
		log.Info("restoring backup", "backup", e.Name, "engine", e.Manifest.Engine, "version", e.Manifest.Version,
			"created", e.Manifest.Created, "bytes", e.Manifest.Bytes, "files", len(e.Manifest.Files))
		res, err := t.attempt(ctx, cfg, log, func(ctx context.Context, s *staging) (filled, error) {
			return fillFromBackup(ctx, e, s, t, cfg.progressEvery(), log)
		})
		if err == nil || !errors.Is(err, ErrCorrupt) || cfg.Backup != "" {
			return res, err
		}
		log.Warn("backup does not verify; trying the next older one", "backup", e.Name, "err", err, "left", len(cands)-i-1)
	}
	return Result{}, failedf("none of the %d candidate backups in %s verifies", len(cands), cfg.From)
}

// fillFromBackup copies one backup into staging, verifying every file.
func fillFromBackup(ctx context.Context, e Entry, s *staging, t target, every time.Duration, log *slog.Logger) (filled, error) {
	m := e.Manifest
	eng := engines[m.Engine]
	src, err := openBackupData(e)
	if err != nil {
		return filled{}, err
	}
	defer src.Close()
	if err := checkTree(src, m); err != nil {
		return filled{}, err
	}
	rootMode, err := makeDirs(s.root, m.Dirs, eng, t)
	if err != nil {
		return filled{}, err
	}
	fsRef, err := s.root.Open(".")
	if err != nil {
		return filled{}, err
	}
	defer fsRef.Close()
	var count atomic.Int64
	p := startProgress(log, e.Name, every, m.Bytes, count.Load)
	err = copyAll(ctx, src, s.root, m.Files, eng, t, &count)
	p.Stop()
	if err != nil {
		return filled{}, err
	}
	if err := makeDurable(ctx, s.root, fsRef, stagedPaths(m.Files), stagedDirs(m.Dirs)); err != nil {
		return filled{}, err
	}
	return filled{eng: eng, rootMode: rootMode, marker: Marker{
		Backup: e.Name, Source: filepath.Dir(e.Dir), Engine: m.Engine, Version: m.Version,
		Created: m.Created, Bytes: m.Bytes, Files: len(m.Files),
	}}, nil
}

// openBackupData opens a backup's data directory as a Root, refusing a
// symlink at the backup or at its data directory (ErrCorrupt).
func openBackupData(e Entry) (*os.Root, error) {
	cat, err := os.OpenRoot(filepath.Dir(e.Dir))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	defer cat.Close()
	b, _, err := durable.OpenDir(cat, e.Name)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	defer b.Close()
	d, _, err := durable.OpenDir(b, DataSubdir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return d, nil
}

// makeDirs creates the backup's directories in staging, parents first,
// with the engine's modes and the target's owner. The staging directory
// itself keeps zkfence's owner and 0700 until it is placed: rootMode is
// the mode the data directory gets then.
func makeDirs(staging *os.Root, dirs []Dir, eng engine, t target) (rootMode fs.FileMode, err error) {
	rootMode = eng.dirMode(0o700)
	for _, d := range dirs {
		if d.Path == "." {
			rootMode = eng.dirMode(fs.FileMode(d.Mode))
			continue
		}
		if err := staging.Mkdir(d.Path, 0o700); err != nil {
			return 0, err
		}
		if err := chownChmod(staging, d.Path, t.uid, t.gid, eng.dirMode(fs.FileMode(d.Mode))); err != nil {
			return 0, err
		}
	}
	return rootMode, nil
}

// copyAll copies and verifies files in parallel; the first error stops all.
func copyAll(ctx context.Context, src, dst *os.Root, files []File, eng engine, t target, count *atomic.Int64) error {
	return parallel(ctx, files, func(ctx context.Context, f File) error {
		return copyVerified(ctx, src, dst, f, eng.fileMode(fs.FileMode(f.Mode)), t.uid, t.gid, count)
	})
}

// stagedPaths are the files' paths in staging.
func stagedPaths(files []File) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.Path
	}
	return out
}

// stagedDirs are the directories' paths in staging, parents first, the
// staging directory itself first of all.
func stagedDirs(dirs []Dir) []string {
	out := []string{"."}
	for _, d := range dirs {
		if d.Path != "." {
			out = append(out, d.Path)
		}
	}
	return out
}
