package restore

import (
	"github.com/zkfence/zkfence/internal/durable"

	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

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
