package restore

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

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
