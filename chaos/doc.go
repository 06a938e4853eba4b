// Package chaos is zkfence's multi-node fault-injection suite (issue 9): the
// operators' own list of what goes wrong with a shared filesystem, plus what
// Jepsen-style testing of lock services has shown to matter, each fault
// repeated with random timing, checking I1 (mutual exclusion), I3 (loss is
// acted on before anyone else can act) and I6 (nothing acknowledged is lost)
// of ../shared/DESIGN.md on real processes.
//
// The tests are behind the build tag chaos and need root, Docker, and the
// images of internal/images (built locally when missing):
//
//	go test -tags chaos -timeout 25m ./chaos/                      # 5 trials per scenario
//	make chaos                                                     # 20 trials (long mode)
//	go test -tags chaos ./chaos/ -chaos.only 1,9 -chaos.trials 2 -chaos.seed 42
//
// Flags: -chaos.trials N, -chaos.only LIST (numbers, each selecting that
// scenario alone, or names or parts of names), -chaos.seed S (fault timing;
// the seed is logged), -chaos.engine postgres|mariadb (default postgres),
// -chaos.out FILE (default results/latest.md, results/latest-mariadb.md for
// mariadb), -chaos.latest-images (use zkfence-local/*:latest as they are,
// when working on the suite while the tree does not build), -chaos.fence
// auto|on|off|both (below).
//
// make test and make chaos run the scenarios listed in the Makefile
// (CHAOS_GATED, CHAOS_GATED_MARIADB); make chaos runs all eleven on both
// engines, 20 trials each.
//
// # The cluster
//
// Every Docker object is named zkfence-chaos-<run>-* and removed when the
// test ends, failed or not. One bridge network with its own /24 subnet, so
// that addresses are fixed and survive docker kill and start:
//
//   - .11-.13: a three-server ZooKeeper 3.8 ensemble (docker/zookeeper on
//     the db-node base), tickTime 500 ms, syncLimit 2, initLimit 10, every
//     four-letter word allowed (srvr, asked from the host, tells the
//     leader), NET_ADMIN so that iptables inside a server can cut it off.
//   - .20, .21: nodes a and b (.31, .32: the extra instances of scenario 3),
//     each a container of the zkfence-local/postgres image whose entry
//     script mounts the shared host directory (/shared, a mktemp -d
//     directory, bind-mounted into every node) through bindfs at /data (the
//     node's own FUSE mount, attribute and entry caches off) and execs
//     zkfence run --zk ... --lock /zkfence/chaos --mount /data --fstype
//     'fuse*' --claim-volume --user postgres --engine postgres --http :8080
//     --session-timeout 8s --zk-tick-time 500ms --zk-sync-limit 2
//     --heartbeat 500ms --stop-grace 1s --probe-interval 500ms
//     --probe-timeout 2s --lock-delay 2s -- postgres -D /data/pg -c
//     zkfence.token=$ZKFENCE_TOKEN. No --privileged: /dev/fuse, SYS_ADMIN
//     (mount), NET_ADMIN (iptables), apparmor unconfined (mount).
//
// The session timeout is 8 s, not the 6 s of DESIGN.md's fast profile:
// zkfence's K is the stop grace plus 1 s, and with T = 6 s the stop would
// begin 173 ms after a renewal, which zkfence refuses (README, the timing
// budget). With T = 8 s: G = 1.75 s, D_kill - t_s = 4.153 s, the stop begins
// 2.153 s after the last renewal. The suite runs zkfence check with these
// flags first and logs the budget on the negotiated timeout.
//
// # Fencing (issue 17)
//
// The nodes can run with Debian's fence_docker (fence-agents 4.12.1 in the
// db-node image) as their --fence-agent, --fence-required, each node's
// --fence-id its container ID (the default). fence_docker reaches the Docker
// API at the suite network's gateway: the test process listens there with
// TLS and client certificates (ssl_secure=1, api_version=1.41; the client's
// files bind-mounted read-only at /fence) and forwards to
// /var/run/docker.sock only the container list, filtered down to the
// suite's nodes, and inspect and kill (SIGKILL) of a node; anything else, or
// from outside the subnet, is refused (and logged at the end). zkfence check
// runs the agent's metadata and monitor through it before the first trial.
// shell_timeout=20 and power_timeout=40 (--fence-timeout 60s): Docker
// answers a kill only once the container is gone, which for a frozen one
// took longer than fence_docker's default 3 s per request on the loaded test
// machine (the agent then failed although the container died).
//
// -chaos.fence auto (the default) configures fencing only for the
// scenarios that are unsafe without it (10 and 11); on and off for all;
// both runs every selected scenario without and then with it (scenarios 10
// and 11 only with it), for the failover times side by side. The nodes are
// recreated when the setting changes. The table's fencing column counts the
// trials with a confirmed fence and the agent's time (off and its
// confirmation, as zkfence logs it); a trial line lists the nodes
// fence_docker killed. A confirmed fence skips the lock-delay.
//
// Every trial also fails on a PANIC line in any node's log since the trial
// began (PostgreSQL finding its WAL or checkpoint broken).
//
// The data directory is made once (initdb on /shared/pg, trust
// authentication) before the nodes start. Nodes whose zkfence exits (lease,
// mount or fence lost: exit 90-92) or that were killed are started again
// when the suite heals the cluster, as systemd or Marathon would; a node
// whose FUSE daemon was killed is restarted (a new mount).
//
// # The observer (I1)
//
// The test runs on the host, as root, in the PID namespace of the
// containers: every 10 ms it lists /proc, finds the database processes by
// name (every postgres process, not only the postmaster: a backend or the
// checkpointer outliving the postmaster can still write), maps each to its
// container through /proc/PID/cgroup, and counts a container as running a
// database while one of them exists, is not a zombie, has no SIGKILL
// pending (the kernel ends it before it runs user code again; one stuck in
// a FUSE request that its frozen bindfs had already taken stays until the
// thaw, and then only that in-flight write completes), and the container
// is not frozen (cgroup v2 "frozen 1", or v1 FROZEN). An overlap is any poll at
// which two containers run one; its duration (to the next poll) is summed.
// Only the suite's own containers count. Intervals per node give the
// detection time: from the fault to the old holder's database no longer
// running.
//
// # The client (I6)
//
// A goroutine writes one row at a time, in autocommit, with pgx, to
// whichever node accepts a connection (500 ms connect timeout, 2 s per
// write, 10 ms between writes): (trial, seq, token), with seq 1, 2, 3...
// and the token taken by the server itself from current_setting
// ('zkfence.token'), i.e. the ZKFENCE_TOKEN zkfence gave the server that
// commits the row. A write is acknowledged when INSERT ... RETURNING id,
// token returns; an error leaves it indeterminate. After the cluster has
// healed and settled on one holder, the rows of the trial are read back:
//
//   - every acknowledged write must be there, with the id and token it was
//     acknowledged with (lost writes);
//   - no row may exist that was not written, or twice (phantoms);
//   - in id order (commit order: one client, one write at a time, ids from
//     a sequence) tokens never go down (token regressions);
//   - porcupine checks the history against an append-only table model
//     whose state is the set of rows and the highest committed token: an
//     acknowledged write must commit a token no lower than any write
//     linearized before it, and the final read must return exactly the
//     writes linearized before it. An indeterminate write that is in the
//     final table took effect some time after it was sent (return at
//     infinity); one that is not never took effect (rows are never
//     deleted) and is left out. With one client the history is nearly
//     sequential, so the check is cheap; it adds the real-time order of
//     acknowledgements to the id-order checks above.
//
// # A trial
//
// Heal and settle (a ZooKeeper leader with two followers, one node
// running, the others waiting), start the client, wait for 20 acknowledged
// writes and a random 0.5-3 s, inject the fault into the holder, wait (up
// to 60 s) for a write acknowledged under a new token when the fault must
// cost the holder its lock, end the fault, heal, settle, wait for 20 more
// writes, stop the client, check. Failover time: from the fault to the first
// write acknowledged under a new token.
//
// # The scenarios
//
//  1. zk-cut: iptables DROP (blackhole, both directions) between the
//     holder and every ZooKeeper server; the FS stays. Healed after the
//     failover.
//  2. zk-cut-reconnect: the same for a random 0.5-12 s, then the rules are
//     removed: short cuts must cost nothing, longer ones the lock.
//  3. extra-instances: two more nodes on the same lock and volume started
//     0-1.5 s apart; they must queue; 2-5 s later the holder gets docker
//     stop and one of the three waiters takes over; then the extras are
//     stopped and removed. The fault time is when the first extra starts.
//  4. fs-lost: pkill -KILL bindfs in the holder (ENOTCONN).
//  5. fs-hang: pkill -STOP bindfs in the holder (every access hangs, like
//     a hard NFS mount of a dead server); SIGCONT after the failover, or
//     after 20 s without one. A database process caught in an
//     uninterruptible FUSE request (D state) survives SIGKILL; zkfence then
//     keeps the lock, as it must, until the FS answers, so this fault may
//     cost availability instead of a failover (seen in 1 trial of 5).
//  6. freeze: the holder's container frozen with the cgroup v2 freezer
//     (its cgroup.freeze, what docker pause writes on a cgroup v2 host) for
//     a random 9-14 s, longer than the session timeout, then thawed.
//     Detection is immediate by definition (a frozen database does not
//     run); what matters is what the thawed one does. zkfence's freeze
//     guard (package deadman) has the kernel SIGKILL zkfence at its lease
//     deadline, and with it the PID namespace its database runs in, while
//     the container is still frozen: nothing of the old holder runs again.
//     Every process of the node is frozen but bindfs, which stands for the
//     kernel's NFS client, which a cgroup freeze does not reach. (When
//     bindfs froze too, a WAL write it had taken before the freeze landed
//     at the thaw, over the WAL the new holder had written since, and 170
//     acknowledged writes were lost: a FUSE network filesystem inside the
//     database's container has that hazard, README.)
//  7. zk-leader-kill: docker kill of the leader (found with srvr), started
//     again after a random 2-8 s. The holder may keep its lock.
//  8. isolated-follower: the nodes are recreated so that node a talks to
//     one follower only and node b to the two other servers; node a is
//     made the holder; then iptables inside that follower drops everything
//     to and from the other two servers while node a still reaches it:
//     the isolated-follower window (G) of DESIGN.md.
//  9. node-kill: docker kill of the holder.
//  10. pause-v1: docker pause on a Docker that uses the cgroup v1 freezer
//     (not run where Docker uses v2: that is scenario 6), for a random
//     9-14 s. A frozen process cannot die before the thaw under v1, so the
//     guard's SIGKILL lands at the thaw, and the database runs for the
//     milliseconds the kernel takes to kill zkfence and then the namespace.
//     Without fencing that was an overlap (10-20 ms in 2 of 3 trials, and a
//     PANIC in the third). With fencing the new holder has fence_docker
//     kill the paused container (Docker thaws it with SIGKILL pending) and
//     starts only once it has exited: whatever ran at the thaw ran before.
//  11. freeze-fuse: the holder's whole container frozen with the cgroup v2
//     freezer, its bindfs included (scenario 6 without
//     storageOutsideFreeze), for a random 9-14 s, then thawed: the FUSE
//     network filesystem client frozen with the database, the case that
//     lost 170 acknowledged writes. With fencing the frozen container,
//     bindfs and the write it holds included, is killed before the new
//     holder starts.
//
// The results table (per scenario: trials, trials with overlap and the
// total, lost writes, token regressions, phantoms, non-linearizable
// histories, failover and detection time, median and max) goes to the test
// log and to -chaos.out.
//
// # The MariaDB variant
//
// -chaos.engine mariadb (default postgres) runs every node on the
// zkfence-local/mariadb image instead: MariaDB 10.11 from Debian, the
// results going to results/latest-mariadb.md unless -chaos.out says
// otherwise. What differs is the engine value (cluster_test.go,
// mariadb_test.go) and the client's dbConn (client_test.go):
//
//   - the data directory, made once on /shared/my by mariadb-install-db,
//     with a database chaos and a user chaos that has every privilege on it
//     and none global;
//   - the child: exec mariadbd --no-defaults --datadir=/data/my
//     --bind-address=0.0.0.0 ... --init-connect="SET
//     @zkfence_token=$ZKFENCE_TOKEN", with durable commits
//     (innodb_flush_log_at_trx_commit=1, doublewrite, no binary log),
//     innodb_flush_method=fsync and no native AIO on the FUSE mount, and
//     skip-name-resolve; zkfence runs it as user mysql with --engine mysql
//     (SIGTERM, InnoDB's clean shutdown, then SIGKILL after the grace);
//   - the observer counts mariadbd and mysqld processes;
//   - the token reaches SQL through init_connect, which the server runs at
//     the start of every connection of a user without CONNECTION ADMIN: the
//     client connects as chaos, not root (for root @zkfence_token is NULL
//     and the insert fails, token being NOT NULL), with go-sql-driver/mysql
//     on one dedicated connection (sql.Conn: database/sql never sends a
//     write again on another connection); an init file would run once at
//     startup and could only leave the token in a table or in
//     init_connect, which the command line sets directly;
//   - a write is INSERT ... VALUES (?, ?, @zkfence_token) RETURNING id,
//     token (MariaDB 10.5 and later), one autocommit statement, into an
//     InnoDB table whose id is AUTO_INCREMENT (persistent across restarts
//     since MariaDB 10.2.4, so id order stays commit order across
//     failovers).
package chaos
