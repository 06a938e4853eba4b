package restore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
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

// DefaultCmdTimeout bounds a restore script when Config.CmdTimeout is 0.
const DefaultCmdTimeout = time.Hour

// DefaultProgressEvery is how often a long restore logs its progress.
const DefaultProgressEvery = 5 * time.Second

// Config says where the data directory is and where to restore it from.
// A Config whose DataDir is empty disables restore: Run returns at once.
type Config struct {
	DataDir string
	Engine  string // "postgres", "mysql" or "auto" ("" is auto)

	// The built-in source: a catalog written by Backup.
	From   string
	Backup string    // restore exactly this backup (no fallback)
	Before time.Time // restore the newest backup created at or before this time

	// The scripted source, run with sh -c.
	Cmd        string
	CmdTimeout time.Duration // 0: DefaultCmdTimeout

	// Required turns "nothing to restore from" into a failure.
	Required bool
	// Token is the fencing token: in the script's environment and the marker.
	Token int64
	// UID and GID own the restored files. -1 keeps: the owner of the
	// existing (empty) data directory, or else the wrapper's own user.
	UID, GID int

	ProgressEvery time.Duration // 0: DefaultProgressEvery
}

// Result says what Run did.
type Result struct {
	Restored bool
	Backup   string // the backup's name, or "cmd" for a script
	Engine   string
	Bytes    int64
	Files    int
	Duration time.Duration
	Reason   string // why a restore was or was not needed
}

// Enabled reports whether restore is configured at all.
func (c Config) Enabled() bool { return c.DataDir != "" }

// Validate checks the configuration without touching anything (I7). Its
// errors wrap ErrRefused.
func (c Config) Validate() error {
	if c.DataDir == "" {
		if c.From != "" || c.Cmd != "" || c.Required {
			return refusedf("a restore source or --restore-required needs --data-dir")
		}
		return nil
	}
	if err := checkDataDir(c.DataDir); err != nil {
		return err
	}
	if _, ok := engines[c.engineName()]; !ok && c.engineName() != Auto {
		return refusedf("engine %q: want postgres, mysql or auto", c.Engine)
	}
	if c.From != "" && c.Cmd != "" {
		return refusedf("--restore-from and --restore-cmd are exclusive: give one source")
	}
	if c.Cmd == "" && (c.Backup != "" || !c.Before.IsZero()) && c.From == "" {
		return refusedf("--restore-backup and --restore-before need --restore-from")
	}
	if c.Backup != "" && !c.Before.IsZero() {
		return refusedf("--restore-backup and --restore-before are exclusive")
	}
	if c.Cmd != "" && (c.Backup != "" || !c.Before.IsZero()) {
		return refusedf("--restore-backup and --restore-before apply to --restore-from, not --restore-cmd")
	}
	if c.Backup != "" && (strings.ContainsRune(c.Backup, '/') || c.Backup == "." || c.Backup == "..") {
		return refusedf("--restore-backup %q: want a backup name, not a path", c.Backup)
	}
	if c.CmdTimeout < 0 || c.ProgressEvery < 0 {
		return refusedf("timeouts and intervals must not be negative")
	}
	if c.Required && c.From == "" && c.Cmd == "" {
		return refusedf("--restore-required needs --restore-from or --restore-cmd")
	}
	if c.UID < -1 || c.GID < -1 {
		return refusedf("owner %d:%d: want ids >= 0, or -1 to keep", c.UID, c.GID)
	}
	return nil
}

// checkDataDir refuses data directories that cannot be restored safely.
func checkDataDir(dir string) error {
	clean := filepath.Clean(dir)
	if !filepath.IsAbs(clean) {
		return refusedf("--data-dir %q: want an absolute path", dir)
	}
	if clean == "/" {
		return refusedf("--data-dir /: the root directory cannot be a data directory")
	}
	return nil
}

func (c Config) engineName() string {
	if c.Engine == "" {
		return Auto
	}
	return c.Engine
}

func (c Config) cmdTimeout() time.Duration {
	if c.CmdTimeout == 0 {
		return DefaultCmdTimeout
	}
	return c.CmdTimeout
}

func (c Config) progressEvery() time.Duration {
	if c.ProgressEvery == 0 {
		return DefaultProgressEvery
	}
	return c.ProgressEvery
}

func refusedf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrRefused}, args...)...)
}

func failedf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrRestoreFailed}, args...)...)
}

// Engine names.
const (
	Postgres = "postgres"
	MySQL    = "mysql"
	Auto     = "auto"
)

// engine is what restore needs to know about a database engine: the marker
// that says a directory is its data directory, and the modes it accepts.
type engine struct {
	name      string
	marker    string // relative to the data directory
	markerDir bool   // the marker is a directory (MySQL's system schema)
	dirMax    fs.FileMode
	fileMax   fs.FileMode
}

// engines: PostgreSQL refuses a data directory that is not 0700 or 0750 and
// its files must not be group-writable or world-accessible; MySQL/MariaDB
// only need the owner to have full access, and world write is never kept.
var engines = map[string]engine{
	Postgres: {name: Postgres, marker: "PG_VERSION", dirMax: 0o750, fileMax: 0o640},
	MySQL:    {name: MySQL, marker: "mysql", markerDir: true, dirMax: 0o775, fileMax: 0o664},
}

// detectOrder is the order markers are looked for with engine auto.
var detectOrder = []string{Postgres, MySQL}

// dirMode is the mode a restored directory gets from the recorded one.
func (e engine) dirMode(m fs.FileMode) fs.FileMode { return m.Perm()&e.dirMax | 0o700 }

// fileMode is the mode a restored file gets from the recorded one.
func (e engine) fileMode(m fs.FileMode) fs.FileMode { return m.Perm()&e.fileMax | 0o600 }

// hasMarker reports whether dir holds the engine's marker (a symlink of
// that name is no marker).
func (e engine) hasMarker(dir *os.Root) (bool, error) {
	fi, err := dir.Lstat(e.marker)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return fi.Mode()&fs.ModeSymlink == 0 && fi.IsDir() == e.markerDir, nil
}

// detect returns the engine whose marker dir holds: want itself when it is
// not auto, else the first that matches. ok is false when none does.
func detect(dir *os.Root, want string) (e engine, ok bool, err error) {
	names := detectOrder
	if want != Auto {
		names = []string{want}
	}
	for _, n := range names {
		has, err := engines[n].hasMarker(dir)
		if err != nil {
			return engine{}, false, fmt.Errorf("look for %s's marker in %s: %w", n, dir.Name(), err)
		}
		if has {
			return engines[n], true, nil
		}
	}
	return engine{}, false, nil
}

// Sentinel errors. Every error of Run wraps exactly one of ErrNoBackup,
// ErrRestoreFailed; Validate's errors wrap ErrRefused; Backup's wrap
// ErrBackupFailed.
var (
	// ErrNoBackup: the data directory needs a restore and there is nothing to
	// restore from (a first start). Not an error unless Config.Required.
	ErrNoBackup = errors.New("no backup to restore from")
	// ErrRestoreFailed: the data directory needed a restore and it was not
	// done; the data directory is as it was (exit code 94).
	ErrRestoreFailed = errors.New("restore failed")
	// ErrRefused: the configuration is invalid; nothing was done (exit 78).
	ErrRefused = errors.New("refused configuration")
	// ErrBackupFailed: a backup was not completed; the catalog holds no new
	// complete backup.
	ErrBackupFailed = errors.New("backup failed")
	// ErrCorrupt: a backup does not match its manifest (missing file, size or
	// SHA-256 mismatch, unreadable). Run skips it in favour of the next one.
	ErrCorrupt = errors.New("backup corrupt")
)
