#!/usr/bin/env bash
# make demo: one ZooKeeper, two zkfence-wrapped PostgreSQL 15 servers on ONE
# data directory. The first holds the lock and serves; the second waits. The
# first is stopped the way `docker stop` does it (SIGTERM to zkfence); the
# second takes over, with the rows the first wrote. A timeline is printed.
set -euo pipefail
[ -n "${DEMO_DEBUG:-}" ] && set -x
cd "$(dirname "$0")/.."

ZKFENCE=${ZKFENCE:-$PWD/bin/zkfence}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
work=$(mktemp -d /tmp/zkfence-demo.XXXXXX)
chmod 755 "$work"
timeline=$work/timeline
pids=()

cleanup() { # newest first: the wrappers release their lock before ZooKeeper stops
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    p=${pids[i]}
    kill -TERM "$p" 2>/dev/null || continue
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  [ -n "${DEMO_KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

now() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }
event() { echo "$(now) demo   $*" >> "$timeline"; echo "demo: $*"; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + RANDOM % 20000))
}

# --- ZooKeeper, standalone, fast ticks so the demo's timings are short ---
zkport=$(free_port)
mkdir -p "$work/zk/data"
cat > "$work/zk/zoo.cfg" <<CFG
tickTime=500
dataDir=$work/zk/data
clientPort=$zkport
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=srvr,ruok
CFG
cat > "$work/zk/log4j.properties" <<'CFG'
log4j.rootLogger=WARN, F
log4j.appender.F=org.apache.log4j.FileAppender
log4j.appender.F.File=${zk.log}
log4j.appender.F.layout=org.apache.log4j.PatternLayout
log4j.appender.F.layout.ConversionPattern=%d %p %c{1}: %m%n
CFG
java -Dzk.log="$work/zk/server.log" -Dlog4j.configuration="file:$work/zk/log4j.properties" \
  -cp /usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar \
  org.apache.zookeeper.server.quorum.QuorumPeerMain "$work/zk/zoo.cfg" > "$work/zk/stdout" 2>&1 &
pids+=($!)
zk=127.0.0.1:$zkport
lock=/zkfence/demo-db
until "$ZKFENCE" status --zk "$zk" --lock "$lock" --connect-timeout 2s > /dev/null 2>&1; do sleep 0.3; done
event "ZooKeeper serving on $zk"

# --- one PostgreSQL data directory, shared by both wrapped servers ---
data=$work/pgdata
mkdir -p "$data" "$work/sock"
chown postgres:postgres "$data" "$work/sock"
runuser -u postgres -- "$PGBIN/initdb" -D "$data" -A trust > "$work/initdb.log"
event "initdb done: $data"

pgport=$(free_port)
wrapped() { # name: start a zkfence-wrapped postgres, logging to $work/name.log
  TZ=UTC "$ZKFENCE" run --zk "$zk" --lock "$lock" \
    --session-timeout 8s --zk-tick-time 500ms --zk-sync-limit 2 --heartbeat 500ms \
    --engine postgres --stop-grace 1s --user postgres \
    -- "$PGBIN/postgres" -D "$data" -p "$pgport" -k "$work/sock" -c listen_addresses= \
    > "$work/$1.out" 2> "$work/$1.err" &
  pids+=($!)
  eval "${1//-/_}_pid=$!"
}
psql_() { runuser -u postgres -- psql -h "$work/sock" -p "$pgport" -d postgres -At "$@"; }
wait_serving() {
  for _ in $(seq 100); do psql_ -c 'select 1' > /dev/null 2>&1 && return 0; sleep 0.1; done
  echo "postgres did not come up:" >&2; tail -n 20 "$work"/*.err >&2; return 1
}

wrapped node-a
wait_serving
event "node-a serves (zkfence pid $node_a_pid)"
psql_ -c "create table orders(id int primary key, what text)" > /dev/null
psql_ -c "insert into orders select g, 'order ' || g from generate_series(1, 1000) g" > /dev/null
event "node-a wrote 1000 rows"

wrapped node-b
sleep 1.5
event "node-b is waiting; zkfence status says:"
"$ZKFENCE" status --zk "$zk" --lock "$lock" | sed 's/^/    /'

event "stopping node-a like docker stop: SIGTERM to its zkfence"
kill -TERM "$node_a_pid"
wait "$node_a_pid" && code=0 || code=$?
event "node-a's zkfence exited with code $code"
wait_serving
rows=$(psql_ -c "select count(*) from orders")
event "node-b serves; orders has $rows rows"
if [ "$rows" != 1000 ]; then echo "DEMO FAILED: expected 1000 rows, got $rows" >&2; exit 1; fi

for node in node-a node-b; do # zkfence's own log lines join the timeline
  sed -n "s/^time=\([^ ]*\) level=[A-Z]* /\1 $node /p" "$work/$node.err" >> "$timeline"
done
echo
echo "Timeline (ms from the first event; node-a/node-b lines are zkfence's own logs):"
sort -s -k1,1 "$timeline" | awk '
  function ms(t,  h, m, s) { split(substr(t, 12, 12), a, ":"); return (a[1]*3600 + a[2]*60 + a[3]) * 1000 }
  NR == 1 { t0 = ms($1) }
  { line = $0; sub(/^[^ ]+ [^ ]+ /, "", line); printf "%8.0f ms  %-7s %s\n", ms($1) - t0, $2, line }'
echo
echo "demo OK: node-b took over the same data directory with all 1000 rows."
