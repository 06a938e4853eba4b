package restore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// Run restores the data directory if it needs it. Call it with the lock
// held, after the storage checks and the fence, before the child starts,
// with a ctx that is cancelled when the lock is lost.
//
// It returns (Result{Restored: false, Reason}, nil) when the data directory
// holds a database (or restore is not configured); an error wrapping
// ErrNoBackup when there is nothing to restore from and !cfg.Required (log
// it and continue: a first start); an error wrapping ErrRefused when cfg
// does not validate; and otherwise an error wrapping ErrRestoreFailed, with
// the data directory as it was (I5).
func Run(ctx context.Context, cfg Config, log *slog.Logger) (Result, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	if !cfg.Enabled() {
		return Result{Reason: "restore not configured (no data directory)"}, nil
	}
	start := time.Now()
	res, err := run(ctx, cfg, log)
	res.Duration = time.Since(start)
	switch {
	case err == nil:
	case errors.Is(err, ErrNoBackup) && cfg.Required:
		err = fmt.Errorf("%w: %v, and --restore-required is set", ErrRestoreFailed, err)
	case errors.Is(err, ErrNoBackup), errors.Is(err, ErrRestoreFailed):
	default:
		err = fmt.Errorf("%w: %w", ErrRestoreFailed, err)
	}
	return res, err
}

// run does Run's work: clean up after a crash, decide, restore.
func run(ctx context.Context, cfg Config, log *slog.Logger) (Result, error) {
	dir := filepath.Clean(cfg.DataDir)
	hasSource := cfg.From != "" || cfg.Cmd != ""
	parent, name, err := openParent(dir, hasSource)
	if errors.Is(err, fs.ErrNotExist) && !hasSource {
		return Result{}, fmt.Errorf("%w: %s is missing and no restore source is configured", ErrNoBackup, dir)
	}
	if err != nil {
		return Result{}, failedf("%v", err)
	}
	defer parent.Close()
	if err := cleanSiblings(parent, name, log); err != nil {
		return Result{}, err
	}
	if err := recoverInPlace(cfg, parent, name, log); err != nil {
		return Result{}, err
	}
	state, eng, err := inspect(parent, name, cfg.engineName())
	if err != nil {
		return Result{}, err
	}
	switch state {
	case stateReady:
		return Result{Engine: eng.name, Reason: fmt.Sprintf("%s holds %s's marker %s", dir, eng.name, eng.marker)}, nil
	case stateForeign:
		return Result{}, failedf("%s needs a restore (it has no %s marker) but is not empty; zkfence never writes into a "+
			"non-empty data directory: move its contents away or point --data-dir at an empty directory", dir, cfg.engineName())
	}
	log.Info("data directory needs a restore", "data_dir", dir, "state", state.String())
	t, err := newTarget(cfg, dir, parent, name, state)
	if err != nil {
		return Result{}, err
	}
	var res Result
	switch {
	case cfg.From != "":
		res, err = fromCatalog(ctx, cfg, cfg.engineName(), t, log)
	case cfg.Cmd != "":
		res, err = fromScript(ctx, cfg, cfg.engineName(), t, log)
	default:
		err = fmt.Errorf("%w: %s is %s and no restore source is configured", ErrNoBackup, dir, state)
	}
	res.Reason = fmt.Sprintf("%s was %s", dir, state)
	return res, err
}

// filled is what a source put into staging, and the mode the data
// directory itself gets.
type filled struct {
	eng      engine
	marker   Marker
	rootMode fs.FileMode
}

// attempt runs one restore: a new staging directory, filled by fill, the
// marker written, then placed. Unless the restore got as far as a commit,
// the staging directory is removed on the way out, whatever happened.
func (t target) attempt(ctx context.Context, cfg Config, log *slog.Logger, fill func(context.Context, *staging) (filled, error)) (Result, error) {
	start := time.Now()
	s, err := t.newStaging()
	if err != nil {
		return Result{}, err
	}
	keep := false
	defer func() {
		if keep {
			s.close()
		} else {
			s.remove()
		}
	}()
	f, err := fill(ctx, s)
	if err != nil {
		return Result{}, err
	}
	if ok, err := f.eng.hasMarker(s.root); !ok || err != nil {
		return Result{}, fmt.Errorf("restored data has no %s marker %s (%v)", f.eng.name, f.eng.marker, err)
	}
	f.marker.RestoredAt, f.marker.Token = time.Now().UTC(), cfg.Token
	f.marker.Host, _ = os.Hostname()
	if err := writeMarker(s.root, f.marker, f.eng, t.uid, t.gid); err != nil {
		return Result{}, fmt.Errorf("write marker: %w", err)
	}
	if keep, err = t.place(ctx, s, f, log); err != nil {
		return Result{}, err // after a commit, staging stays: the next start rolls forward
	}
	res := Result{Restored: true, Backup: f.marker.Backup, Engine: f.eng.name, Bytes: f.marker.Bytes,
		Files: f.marker.Files, Duration: time.Since(start)}
	log.Info("restore done", "backup", res.Backup, "data_dir", t.dataDir, "bytes", res.Bytes, "files", res.Files,
		"duration", res.Duration.Round(time.Millisecond), "mb_per_s", mbps(res.Bytes, res.Duration))
	return res, nil
}
