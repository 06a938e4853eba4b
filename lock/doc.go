// Package lock is zkfence's side of ZooKeeper: one session, the exclusive
// lock recipe, the lease derived from a held lock, and the fence state kept
// beside the lock.
//
// # The lock recipe
//
// Compatible with Apache Curator's InterProcessMutex and, with
// extra_lock_patterns=["-lock-"], with Kazoo's Lock: protected
// ephemeral-sequential nodes named _c_<uuid>-lock-<10-digit sequence> under
// the lock path; contenders are the children whose names end in -lock-<seq>
// or __lock__<seq>; the lowest sequence holds the lock; a waiter watches only
// its predecessor. The fencing token is the lock node's czxid, which grows
// with every acquisition across the ensemble (Acquire).
//
// # The lease
//
// A held lock becomes a Lease, the right to run the child. It is renewed
// only by the wrapper's own requests (an Exists on the lock node every
// heartbeat h, which also checks that the node is still there and owned by
// our session), and it counts from the SEND time t_s of the latest request
// that succeeded, on the monotonic clock, so a late answer never extends it
// further than is safe:
//
//	G      = syncLimit x tickTime + tickTime/2 + h        the isolated-follower window
//	D_kill = t_s + (1-rho) x T - (1+rho) x G - K          the child tree is dead (KillBy)
//	D_stop = D_kill - K                                   the stop of the child begins (StopBy)
//
// T is the NEGOTIATED session timeout (the server clamps the requested one to
// [2, 20] x tickTime; a reconnect may shrink it, and the deadlines move at
// once), K the time to stop the child (grace plus KillWait), rho the allowed
// clock rate error. D_kill is K before the earliest instant at which
// ZooKeeper could grant the lock to another contender: the leader expires a
// session T after it last heard of it, and a follower cut off from the
// leader may go on answering for up to G after that.
//
// Two reference points (DESIGN.md): with tickTime 2 s, syncLimit 5, h 1 s,
// K 2 s and T 30 s, D_kill - t_s = 29.7 - 12.12 - 2 = 15.58 s, so the child
// survives about 15.6 s without ZooKeeper; with the tests' fast profile
// (tickTime 500 ms, syncLimit 2, h 500 ms, K 2 s, T 8 s) it is
// 7.92 - 1.77 - 2 = 4.15 s. Budget.Validate refuses a budget whose stop would
// begin less than two heartbeats after t_s, and NewLease refuses what
// Validate refuses, with the negotiated T.
//
// Lost is closed at StopBy at the latest, and at once when ZooKeeper says
// the lock is gone: session expired, a new session ID, the node deleted or
// owned by another session (Definitive). A disconnection alone changes
// nothing: the lease just stops being renewed. Nothing on the lease's way to
// its deadline does I/O besides the renewal itself: no logging, no callback
// that may block.
//
// # The fence state
//
// A persistent node beside the lock (FenceStatePath: "<lock>.fence"), with
// the lock's ACL, records the last holder's token and whether it released
// cleanly. It is written only with ZooKeeper's version check, and never with
// a smaller token, so a stale holder cannot overwrite a newer one's. A new
// holder reads it before it touches any storage.
package lock
