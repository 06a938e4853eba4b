package restore

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
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
		res, err := t.attempt(ctx, cfg, log, func(ctx context.Context, staging string) (filled, error) {
			return fillFromBackup(ctx, e, staging, t, cfg.progressEvery(), log)
		})
		if err == nil || !errors.Is(err, ErrCorrupt) || cfg.Backup != "" {
			return res, err
		}
		log.Warn("backup does not verify; trying the next older one", "backup", e.Name, "err", err, "left", len(cands)-i-1)
	}
	return Result{}, failedf("none of the %d candidate backups in %s verifies", len(cands), cfg.From)
}

// fillFromBackup copies one backup into staging, verifying every file.
func fillFromBackup(ctx context.Context, e Entry, staging string, t target, every time.Duration, log *slog.Logger) (filled, error) {
	m := e.Manifest
	eng := engines[m.Engine]
	src := filepath.Join(e.Dir, DataSubdir)
	if err := checkSizes(src, m); err != nil {
		return filled{}, err
	}
	if err := makeDirs(staging, m.Dirs, eng, t); err != nil {
		return filled{}, err
	}
	fsRef, err := os.Open(staging)
	if err != nil {
		return filled{}, err
	}
	defer fsRef.Close()
	var count atomic.Int64
	p := startProgress(log, e.Name, every, m.Bytes, count.Load)
	err = copyAll(ctx, src, staging, m.Files, eng, t, &count)
	p.Stop()
	if err != nil {
		return filled{}, err
	}
	if err := makeDurable(ctx, fsRef, stagedPaths(staging, m.Files), stagedDirs(staging, m.Dirs)); err != nil {
		return filled{}, err
	}
	return filled{eng: eng, marker: Marker{
		Backup: e.Name, Source: filepath.Dir(e.Dir), Engine: m.Engine, Version: m.Version,
		Created: m.Created, Bytes: m.Bytes, Files: len(m.Files),
	}}, nil
}

// makeDirs creates the backup's directories in staging, parents first,
// with the engine's modes and the target's owner.
func makeDirs(staging string, dirs []Dir, eng engine, t target) error {
	rootDone := false
	for _, d := range dirs {
		p := filepath.Join(staging, filepath.FromSlash(d.Path))
		if d.Path != "." {
			if err := os.Mkdir(p, 0o700); err != nil {
				return err
			}
		} else {
			rootDone = true
		}
		if err := setOwnerMode(p, eng.dirMode(fs.FileMode(d.Mode)), t); err != nil {
			return err
		}
	}
	if !rootDone {
		return setOwnerMode(staging, eng.dirMode(0o700), t)
	}
	return nil
}

func setOwnerMode(p string, mode fs.FileMode, t target) error {
	if err := os.Chmod(p, mode); err != nil {
		return err
	}
	return os.Lchown(p, t.uid, t.gid)
}

// copyAll copies and verifies files in parallel; the first error stops all.
func copyAll(ctx context.Context, src, dst string, files []File, eng engine, t target, count *atomic.Int64) error {
	return parallel(ctx, files, func(ctx context.Context, f File) error {
		from := filepath.Join(src, filepath.FromSlash(f.Path))
		to := filepath.Join(dst, filepath.FromSlash(f.Path))
		return copyVerified(ctx, from, to, f, eng.fileMode(fs.FileMode(f.Mode)), t.uid, t.gid, count)
	})
}

// stagedPaths are the files' paths in staging.
func stagedPaths(staging string, files []File) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = filepath.Join(staging, filepath.FromSlash(f.Path))
	}
	return out
}

// stagedDirs are the directories' paths in staging, parents first, the
// staging directory itself first of all.
func stagedDirs(staging string, dirs []Dir) []string {
	out := []string{staging}
	for _, d := range dirs {
		if d.Path != "." {
			out = append(out, filepath.Join(staging, filepath.FromSlash(d.Path)))
		}
	}
	return out
}
