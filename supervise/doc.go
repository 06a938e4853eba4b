// Package supervise is zkfence's PID-1 mechanics: it starts the child, forwards
// signals to it, reaps zombies, stops the whole process tree and turns the
// outcome into an exit code. It knows nothing of ZooKeeper or mounts; the run
// pipeline decides when to stop, supervise makes the stop complete.
//
// It follows tini (src/tini.c) and dumb-init, and fixes what consul lock gets
// wrong (hashicorp/consul#2022: it signals only the shell it started, and
// grandchildren survive the lock).
//
// # Invariants
//
//   - S1 The reaper alone waits for the tree. While a Child is live (from
//     Start until Stop has confirmed the tree gone) a single reaper goroutine,
//     on SIGCHLD and on a safety tick, peeks at the next exited child
//     (waitid(P_ALL, WEXITED|WNOHANG|WNOWAIT), which leaves it waitable) and
//     reaps it with wait4(pid) unless it is a helper (S3); it records the main
//     child's status and discards the others. A helper's zombie is left to the
//     helper's own Wait, so os/exec's Cmd.Wait gets its status (not ECHILD);
//     while one is there the peek cannot see past it, and the reaper reaps the
//     tree by pid from a scan of the process table instead. Nothing else in
//     the process may wait for a process of the tree, nor for any child
//     (wait4(-1)).
//   - S2 No signal to a recycled id. The child is the leader of its own process
//     group, so its pid is also the group id. Signals go to the group only while
//     the main child is unreaped (the reaper and the signal senders share a lock
//     held across wait4), so the group id cannot have been reused. Other
//     processes are signalled through a pidfd (os.FindProcess) after their start
//     time was read again and found to be the one the scan of the process table
//     saw, so a pid recycled between the scan and the kill is not hit.
//   - S3 The tree is the main child, its descendants, and the orphans
//     reparented to the wrapper after Start: every descendant of the wrapper
//     but its helpers and theirs. A helper is a direct child of the wrapper
//     that the wrapper holds a pidfd for (os/exec's, until its Wait), that
//     was its child already when Start ran (recorded by pid and start time),
//     or that is in the wrapper's own process group. The wrapper is PID 1 or
//     a child subreaper (Start makes it one), so a process that left the
//     group (setpgid, setsid, double fork) is reparented to the wrapper and
//     stays in the tree. Stop finds the tree in the process table, not in the
//     process group, and leaves the helpers alone.
//   - S4 Stop returns nil only when every process of the tree is gone from the
//     process table (twice in a row) and the main child was reaped.
//   - S5 SIGKILL is sent no later than ctx's deadline minus KillWait; when ctx is
//     cancelled the grace ends at once, and the SIGKILL and the confirmation
//     still happen (cleanup runs even when the context is cancelled).
//   - S6 One Child per process at a time: Start refuses a second one until Stop
//     has confirmed the first one's tree gone.
//
// # Helpers
//
// The wrapper runs commands of its own while the child runs (the run
// pipeline's scheduled pg_basebackup or mariadb-backup, through os/exec, each
// in a process group of its own so that it can be killed whole), and may
// have children from before the child (a shell that runs
// "exec zkfence run ... 2> >(tee log)" forks the tee first, then execs
// zkfence). They are not the database's: the reaper must not take their exit
// status and Stop must not kill them. The rule of S3 tells them apart without
// the caller registering anything:
//
//   - A pidfd held by the wrapper marks a process that something in the
//     wrapper will Wait for: os.StartProcess, and so os/exec, opens one with
//     the child (CLONE_PIDFD, before the child can run, let alone exit) and
//     closes it once Wait has reaped the child (or on Release). That is
//     exactly the set whose status must not be taken, whatever their process
//     group. The package's own pidfds (signalProc's, for a moment) are held
//     under a lock the reading of the fd table takes too.
//   - A child the wrapper had before Start cannot belong to a tree that did
//     not exist yet, whatever its group (the shell's tee has no pidfd). Pid
//     and start time name it, so a recycled pid is not taken for it.
//   - The wrapper's own process group holds its os/exec children (unless
//     they ask for a group of their own) and their descendants. Start puts
//     the main child in a group of its own, and every process of its tree
//     starts in that group or in one it creates itself (setpgid, setsid):
//     none ends up in the wrapper's group unless it joins it on purpose
//     (setpgid(0, wrapper's group), possible only within the wrapper's
//     session), which a database does not do. This clause keeps a helper's
//     own children alive when the helper dies first, and covers os/exec
//     where Go cannot use pidfds (Linux before 5.4, or pidfd calls refused by
//     seccomp).
//   - The orphans the wrapper must still reap and stop match none of these:
//     a double-forked daemon keeps the child's group, a setsid one has its
//     own; as PID 1 in a container, an orphan of "docker exec" is in the
//     session runc made for it. (Under unshare --pid without a new session,
//     the wrapper's group is outside its namespace and reads as 0, for the
//     wrapper and its os/exec children alike; the tree's groups read as their
//     ids.)
//
// The reaper's peek (S1) is cheap; the rule costs a read of
// /proc/PID/stat per exited child, and a read of the wrapper's fd table only
// for one in a group that settles nothing (a setsid orphan, a helper in its
// own group, an orphan of the child's group once the main child was reaped).
//
// What follows from the rule:
//
//   - A command the wrapper starts with os/exec and then Releases instead of
//     waiting for is taken for an orphan of the tree when it is not in the
//     wrapper's group: the reaper reaps it and Stop stops it. Where Go cannot
//     use pidfds, so is any os/exec helper in a group of its own.
//   - A helper's descendant that outlives the helper is reparented to the
//     wrapper. In the wrapper's group it is a helper (so is an orphan that
//     was there before Start): not stopped, and not reaped while a Child is
//     live, since no Wait is coming for it; its zombie stays until the
//     wrapper exits, and while it is there each SIGCHLD and each safety tick
//     costs the reaper a scan of the process table. In a group of its own (a
//     backup tool's leftover) it is taken for an orphan of the tree: reaped,
//     and stopped with the tree.
//   - A helper's zombie that its Wait has not reaped yet (the reaper never
//     takes it) costs the same scans until it is reaped, usually
//     microseconds: os/exec's Wait is typically already blocked on the
//     helper's pidfd.
//
// # Preflight
//
// Check resolves a Spec exactly as Start does (working directory, user and
// group, command in PATH) without starting anything, so that the run pipeline
// refuses a command that cannot run before it connects to ZooKeeper (I7).
//
// # Signals
//
// Signals returns every signal the wrapper may forward. Forward translates
// through the child's SignalMap (PostgreSQL's default maps SIGTERM to SIGINT,
// its fast shutdown) and sends to the child's process group, like tini -g and
// dumb-init. Not forwarded: SIGKILL and SIGSTOP (cannot be caught), SIGCHLD
// (the reaper's), SIGURG (the Go runtime's preemption signal), SIGPIPE, SIGTTIN
// and SIGTTOU (raised by the kernel for the wrapper's own I/O; caught and
// dropped so they neither kill nor stop the wrapper), the synchronous fault
// signals SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV and SIGSYS (as in
// tini), SIGPROF (the Go profiler's) and signals 32 and 33 (glibc's NPTL).
//
// The child starts with every signal at its default disposition, as under
// dumb-init and systemd: a signal the wrapper inherited ignored (nohup, a
// shell's trap "") would otherwise stay ignored in the child, and forwarding
// it would do nothing. tini passes ignored signals on.
//
// # Exit codes
//
// The child's own code; 128+N when it died of signal N; 126 when the command
// cannot be executed and 127 when it is not found (tini's and the shell's
// conventions, see package exitcode). ExitCodeOf maps Start's errors.
package supervise
