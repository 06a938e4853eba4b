package restore

import (
	"errors"
	"fmt"
	"io/fs"
	"time"
)

// Preflight says, for `zkfence check`, what a start would do with the data
// directory and which backup it would restore, changing nothing: the data
// directory's state, and the newest complete backup in the catalog (whose
// checksums are verified only by a real restore). Problems are returned
// one by one.
func Preflight(cfg Config) (ok []string, problems []error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	if err := cfg.Validate(); err != nil {
		return nil, []error{err}
	}
	state, eng, err := inspectPath(cfg.DataDir, cfg.engineName())
	switch {
	case err != nil:
		return nil, []error{err}
	case state == stateReady:
		return []string{fmt.Sprintf("data directory %s holds a %s database: no restore", cfg.DataDir, eng.name)}, nil
	case state == stateForeign:
		return nil, []error{fmt.Errorf("%w: data directory %s is %s: a start would refuse it", ErrRestoreFailed, cfg.DataDir, state)}
	}
	ok = append(ok, fmt.Sprintf("data directory %s is %s: a start restores it", cfg.DataDir, state))
	if cfg.Cmd != "" {
		return append(ok, "restore source: --restore-cmd (run at start)"), nil
	}
	if cfg.From == "" {
		return append(ok, "no restore source: the database initialises itself"), nil
	}
	entries, err := List(cfg.From)
	if err != nil {
		return ok, []error{fmt.Errorf("catalog %s: %w", cfg.From, err)}
	}
	for _, e := range entries { // complete ones newest first
		if !e.Complete() || (cfg.Backup != "" && e.Name != cfg.Backup) ||
			(!cfg.Before.IsZero() && e.Manifest.Created.After(cfg.Before)) {
			continue
		}
		return append(ok, fmt.Sprintf("would restore %s (%s, created %s)", e.Name, e.Manifest.Engine,
			e.Manifest.Created.Format(time.RFC3339))), nil
	}
	if cfg.Required {
		return ok, []error{fmt.Errorf("%w: no complete backup in %s and --restore-required", ErrRestoreFailed, cfg.From)}
	}
	return append(ok, fmt.Sprintf("no complete backup in %s: the database initialises itself", cfg.From)), nil
}

// inspectPath is inspect for the data directory at dataDir, reached
// without links; a missing parent means a missing data directory.
func inspectPath(dataDir, want string) (dirState, engine, error) {
	parent, name, err := openParent(dataDir, false)
	if errors.Is(err, fs.ErrNotExist) {
		return stateMissing, engine{}, nil
	}
	if err != nil {
		return 0, engine{}, err
	}
	defer parent.Close()
	state, eng, err := inspect(parent, name, want)
	if err != nil {
		return 0, engine{}, fmt.Errorf("data directory %s: %w", dataDir, err)
	}
	return state, eng, nil
}
