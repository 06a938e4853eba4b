package restore

import "errors"

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
