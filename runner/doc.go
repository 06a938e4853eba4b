// Package runner is the run pipeline of `zkfence run`:
//
//	lock -> (storage -> fence -> restore) -> child -> watch -> stop -> release
//
// Invariants (DESIGN.md):
//
//   - I1/I2: the child is started only after the lock is held and the lease
//     is neither lost nor overdue, and at most one child is started per run.
//   - I3: when the lease is lost the stop begins at once (at the latest at
//     Lease.StopBy) and the child tree is confirmed dead by Lease.KillBy,
//     which is K before the earliest instant ZooKeeper could grant the lock
//     to another contender.
//   - The first thing the watch loop does on every wake-up is compare the
//     clock with the lease deadline, so a process that thaws after a freeze
//     acts on an overdue deadline before anything else.
//   - When the child exits by itself the lock node is deleted and the session
//     closed at once, so the next contender takes over without waiting for a
//     timeout.
package runner
