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
//   - S1 One wait4 caller. While a Child is live (from Start until Stop has
//     confirmed the tree gone) a single reaper goroutine is the only caller of
//     wait4 in the process: on SIGCHLD and on a safety tick it calls
//     wait4(-1, WNOHANG) until nothing is left, records the main child's status
//     and discards the others. Nothing else in the process may wait for
//     children meanwhile: os/exec's Cmd.Wait would fail with ECHILD. Run helper
//     commands before Start or after Stop.
//   - S2 No signal to a recycled id. The child is the leader of its own process
//     group, so its pid is also the group id. Signals go to the group only while
//     the main child is unreaped (the reaper and the signal senders share a lock
//     held across wait4), so the group id cannot have been reused. Other
//     processes are signalled through a pidfd (os.FindProcess) after their
//     parent was checked again, so a pid recycled between the scan of the process
//     table and the kill is not hit.
//   - S3 The tree is every descendant of the wrapper. The wrapper is PID 1 or a
//     child subreaper (Start makes it one), so a process that left the group
//     (setpgid, setsid, double fork) is reparented to the wrapper and stays in
//     the tree. Stop finds the tree in the process table (gopsutil), not in the
//     process group. The tree includes any other descendant of the wrapper (a
//     helper command the wrapper itself started): Stop stops those too.
//   - S4 Stop returns nil only when every process of the tree is gone from the
//     process table (twice in a row) and the main child was reaped.
//   - S5 SIGKILL is sent no later than ctx's deadline minus KillWait; when ctx is
//     cancelled the grace ends at once, and the SIGKILL and the confirmation
//     still happen (cleanup runs even when the context is cancelled).
//   - S6 One Child per process at a time: Start refuses a second one until Stop
//     has confirmed the first one's tree gone.
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
// # Exit codes
//
// The child's own code; 128+N when it died of signal N; 126 when the command
// cannot be executed and 127 when it is not found (tini's and the shell's
// conventions, see package exitcode). ExitCodeOf maps Start's errors.
package supervise
