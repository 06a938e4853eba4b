// Package chaos is zkfence's multi-node fault-injection suite (issue 9): the
// operators' own list of what goes wrong with a shared filesystem, plus what
// Jepsen-style testing of lock services has shown to matter, each fault
// repeated with random timing on real processes, checking three invariants of
// ../shared/DESIGN.md: I1 (never two databases running), I3 (loss is acted on
// before anyone else can act) and I6 (nothing acknowledged is lost).
//
// The tests are behind the build tag chaos and need root, Docker, and the
// images of internal/images (built locally when missing). How to run them,
// and which scenarios gate make test: the Makefile (test, chaos); the flags
// (-chaos.trials, -chaos.only, -chaos.seed, -chaos.engine, -chaos.out, ...)
// are declared, with their defaults, in chaos_test.go.
//
// # The cluster
//
// A ZooKeeper 3.8 ensemble of three containers and two database nodes (more
// in scenario 3), on a bridge network of their own with fixed addresses, so
// that a node keeps its address across docker kill and start. Each node runs
// zkfence run as its entrypoint, with the timing profile of cluster_test.go,
// over its own bindfs mount of one shared host directory: bindfs stands for
// the kernel's NFS client (kill it and the mount is lost with ENOTCONN;
// SIGSTOP it and every access hangs, like a hard mount of a dead server).
// The session timeout is 8 s, not the 6 s of DESIGN.md's fast profile,
// because zkfence refuses 6 s with the suite's 1 s stop grace (the stop would
// begin too close to a renewal); the suite runs zkfence check first and logs
// the budget. Nodes whose zkfence exited or that were killed are started
// again when the cluster heals, as systemd or Marathon would. Every Docker
// object is named zkfence-chaos-<run>-* and removed when the test ends.
//
// # What is checked
//
// I1 and I3, by an observer on the host: every 10 ms it finds each
// container's database processes in /proc, and counts a container as running
// a database while one of them is alive, not a zombie, without a SIGKILL
// pending and not frozen. An overlap is a poll at which two containers run
// one. From the fault to the old holder's database no longer running is the
// detection time.
//
// I6, by a client that writes one row at a time, in autocommit, to whichever
// node accepts it, each row carrying the fencing token that the database
// itself got from zkfence. After the cluster has healed, the rows are read
// back: every acknowledged write is there as acknowledged (no lost writes),
// nothing else is (no phantoms), tokens never go down in commit order (no
// regressions), and porcupine finds the history linearizable against an
// append-only table. From the fault to the first write acknowledged under a
// new token is the failover time.
//
// # Fencing (issue 17)
//
// Nodes can run Debian's fence_docker as their --fence-agent
// (--fence-required, the container ID as fence id). It reaches the Docker
// API through a TLS proxy the test runs on the suite network's gateway,
// which forwards only the list, inspect and kill of the suite's own nodes.
// -chaos.fence auto (the default) turns fencing on for the scenarios that
// are unsafe without it (pause-v1, freeze-fuse); on, off and both as named.
// The table counts confirmed fences and the agent's time; a PANIC line in
// any node's log fails the trial.
//
// # Fast takeover (issue 21)
//
// -chaos.fast-takeover on (or both: each scenario without, then with it)
// runs the nodes with --fast-takeover, always with fence_docker, which it
// needs: each node advertises its suite address as --advertise-http, and
// its waiter probes it every -chaos.takeover-probe (500 ms) and fences it
// after -chaos.takeover-after (3) probes without an answer. The table's
// mode column says which mode ran and counts the fast takeovers the nodes
// logged. Scenario 12 (node-partition) cuts only the path between the two
// nodes: without fast takeover nothing is expected to change hands (the
// holder keeps its session); with it, the lock may change hands only after
// fence_docker killed the holder, which the trial checks.
// -chaos.session-timeout (8 s) sets T, raising the ensemble's
// maxSessionTimeout when T needs it, for the failover at the default T 30 s
// (node-kill; the freezes last 9-14 s, longer than T only at 8 s).
//
// A trial: heal and settle on one holder, start the client, inject the fault
// into the holder at a random moment, wait for a failover when the fault
// must cost the holder its lock, end the fault, heal, write some more,
// check. The results table, per scenario (trials, overlaps, lost writes,
// regressions, phantoms, non-linearizable histories, failover and detection
// times), goes to the test log and to -chaos.out.
//
// # The scenarios
//
// scenarios_test.go defines them: the holder cut from ZooKeeper (for good,
// or reconnected after a random time: short cuts must cost nothing); extra
// instances started on the same lock and volume (they must queue); the
// holder's filesystem lost or hung; the holder frozen longer than its
// session, then thawed; the ZooKeeper leader killed; the isolated-follower
// window of DESIGN.md; the holder killed; and docker pause where Docker uses
// the cgroup v1 freezer; and, fenced, the whole container frozen with its
// FUSE daemon (freeze-fuse); and the two nodes cut from each other
// (node-partition). Two carry lessons the README spells out:
//
//   - fs-hang: a database process stuck in an uninterruptible FUSE request
//     survives SIGKILL, and zkfence keeps the lock, as it must, until the
//     filesystem answers: the fault may cost availability instead of a
//     failover.
//   - freeze: the freeze guard (package deadman) has the kernel kill zkfence
//     at its lease deadline, and with it its database's PID namespace, while
//     the container is still frozen. bindfs is left running, as the kernel's
//     NFS client would be: frozen with the database, it completed at the thaw
//     a write it had taken before, over what the new holder had written since.
//     Under the cgroup v1 freezer (pause-v1) a frozen process cannot die
//     before the thaw, so the database runs for the milliseconds the kernel
//     takes to kill it: only fencing makes that scenario safe, and it is
//     gated with fence_docker on.
//
// # The MariaDB variant
//
// -chaos.engine mariadb runs every node on the MariaDB image instead; only
// the engine (cluster_test.go, mariadb_test.go) and the client's connection
// (client_test.go) differ. The token reaches SQL through init_connect, which
// the server runs for every connection of a user without CONNECTION ADMIN, so
// the client connects as an unprivileged user, on one dedicated connection;
// ids come from an AUTO_INCREMENT that persists across restarts, so id order
// stays commit order across failovers.
package chaos
