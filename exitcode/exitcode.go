// Package exitcode lists the exit codes of zkfence, so that an orchestrator and
// a human can tell why a run ended.
//
// A child that exits by itself passes its own code through (0-255); a child
// killed by signal N gives 128+N; a command that cannot be executed gives 126
// and one that is not found 127 (the shell's and tini's conventions). The codes
// below are zkfence's own. They sit in 78 and 90-99, a range that databases and
// shells do not use for themselves, so they are distinguishable in practice.
package exitcode

const (
	// OK: the child exited 0 by itself.
	OK = 0
	// CheckFailed: `zkfence check` found problems (it lists them).
	CheckFailed = 1
	// CannotExecute: the command exists but could not be executed (permission, bad format).
	CannotExecute = 126
	// NotFound: the command was not found.
	NotFound = 127
	// SignalBase: a child that died of signal N makes zkfence exit SignalBase+N.
	SignalBase = 128

	// RefusedConfig: bad flags or unsafe timings; nothing was started or changed (EX_CONFIG).
	RefusedConfig = 78
	// LockLost: the ZooKeeper lease ended (expiry, new session, lock node gone or not ours,
	// lease deadline reached); the child was stopped.
	LockLost = 90
	// MountLost: a guarded mount failed its live probe; the child was stopped.
	MountLost = 91
	// Fenced: the fence record on the volume names a newer token or another holder; the child
	// was stopped.
	Fenced = 92
	// StorageRefused: storage failed its checks before start (not a mount, fsck refused, ...).
	StorageRefused = 93
	// RestoreFailed: the data directory needed a restore and it could not be done.
	RestoreFailed = 94
	// NotReleased: the run ended with something of its own that may still write (the child tree
	// not confirmed dead, a device it mounted not unmounted), so it kept its lock node and session
	// to expire instead of releasing them. Takes precedence over the cause of the stop.
	NotReleased = 95
	// FencingFailed: --fence-required, and the previous holder could not be fenced (or this node
	// not unfenced); nothing was touched or started.
	FencingFailed = 96
	// Internal: an unexpected error in zkfence itself (for example ZooKeeper refused a request).
	Internal = 99
)
