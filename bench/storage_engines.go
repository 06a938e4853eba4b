package main

// The databases of the storage table: MariaDB 10.11 under sysbench 1.0 and
// PostgreSQL 15 under pgbench, each made once (a template data directory on
// the local disk), copied into every tier, then started, warmed, measured
// and stopped once per run. Both do durable, direct I/O where the engine
// can: MariaDB innodb_flush_method=O_DIRECT, innodb_flush_log_at_trx_commit=1;
// PostgreSQL synchronous_commit=on with wal_sync_method=open_datasync and
// wal_level=minimal, which makes PostgreSQL 15 open its WAL with O_DIRECT
// (its data files always go through the page cache before 16).

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"time"
)

var (
	sbTables = flag.Int("storage-tables", 8, "storage table: sysbench tables")
	sbRows   = flag.Int("storage-rows", 100000, "storage table: rows per sysbench table (8 x 100,000 is about 200 MB, more than a 128 MB buffer pool)")
	pgScale  = flag.Int("storage-pgscale", 10, "storage table: pgbench scale (10 is about 150 MB)")
	bigPool  = flag.String("storage-bigpool", "1G", "storage table: a buffer pool that holds the whole sysbench data set")
)

// workload is one client run.
type workload struct {
	name string // in the table
	args []string
}

// dbConfig is one server configuration and the workloads measured on it,
// in one server run each.
type dbConfig struct {
	name      string
	engine    *engine
	serverArg []string
	workloads []workload
}

// engine is what the storage table needs of a database.
type engine struct {
	name, user string
	stopSig    syscall.Signal
	zkExtra    []string // zkfence flags for this server
	// template makes the data directory dir (owned by user), loaded.
	template func(s *storageRun, dir string) error
	argv     func(data, run string) []string // run: a local directory for socket, pid and log files
	ready    func(run string) error
	warm     func(run string) error
	client   func(run string, w workload, d time.Duration) (float64, error)
}

func dbConfigs() []dbConfig {
	m, p := mariadbEngine(), postgresEngine()
	ro := []workload{
		{"sysbench oltp_read_only --skip-trx=on", []string{"oltp_read_only", "--skip-trx=on"}},
		{"sysbench oltp_read_only", []string{"oltp_read_only"}},
	}
	return []dbConfig{
		{"MariaDB, buffer pool 128M", m, []string{"--innodb-buffer-pool-size=128M"}, append(append([]workload{}, ro...),
			workload{"sysbench oltp_read_write", []string{"oltp_read_write"}},
			workload{"sysbench oltp_write_only", []string{"oltp_write_only"}})},
		{"MariaDB, buffer pool " + *bigPool + " (holds the data)", m, []string{"--innodb-buffer-pool-size=" + *bigPool}, ro},
		{"PostgreSQL 15, shared_buffers 128MB", p, nil, []workload{
			{"pgbench -S (select only)", []string{"-S"}},
			{"pgbench TPC-B-like", nil},
		}},
	}
}

var sbTPS = regexp.MustCompile(`transactions:\s+\d+\s+\(([0-9.]+) per sec\.\)`)

func mariadbEngine() *engine {
	sock := func(run string) string { return filepath.Join(run, "mysqld.sock") }
	sb := func(run string, args ...string) []string {
		return append(args, "--db-driver=mysql", "--mysql-socket="+sock(run), "--mysql-user=root", "--mysql-db=sbtest",
			fmt.Sprintf("--tables=%d", *sbTables), fmt.Sprintf("--table-size=%d", *sbRows))
	}
	e := &engine{name: "mariadb", user: "mysql", stopSig: syscall.SIGTERM}
	e.argv = func(data, run string) []string {
		mariadbd, _ := exec.LookPath("mariadbd")
		return []string{mariadbd, "--no-defaults", "--datadir=" + data, "--socket=" + sock(run), "--skip-networking",
			"--pid-file=" + filepath.Join(run, "mariadbd.pid"), "--log-error=" + filepath.Join(run, "error.log"),
			"--innodb-flush-method=O_DIRECT", "--innodb-flush-log-at-trx-commit=1",
			"--innodb-buffer-pool-dump-at-shutdown=OFF", "--innodb-buffer-pool-load-at-startup=OFF", "--max-connections=50"}
	}
	e.ready = func(run string) error {
		return waitReady(120*time.Second, func() error {
			_, err := runCmd(10*time.Second, nil, "mariadb-admin", "--no-defaults", "--socket="+sock(run), "-u", "root", "ping")
			return err
		})
	}
	e.warm = func(run string) error {
		_, err := runCmd(5*time.Minute, nil, "sysbench", sb(run, "oltp_read_only", "prewarm")...)
		return err
	}
	e.client = func(run string, w workload, d time.Duration) (float64, error) {
		args := sb(run, w.args...)
		args = append(args, "--threads=1", "--time="+strconv.Itoa(int(d.Seconds())), "--report-interval=0", "run")
		return clientTPS(d, sbTPS, "sysbench", args...)
	}
	e.template = func(s *storageRun, dir string) error {
		if _, err := runCmd(3*time.Minute, nil, "mariadb-install-db", "--no-defaults", "--datadir="+dir, "--user=mysql",
			"--auth-root-authentication-method=socket", "--skip-test-db"); err != nil {
			return err
		}
		return s.withServer(e, dir, []string{"--innodb-buffer-pool-size=" + *bigPool, "--innodb-flush-log-at-trx-commit=2"}, func(run string) error {
			if _, err := runCmd(time.Minute, nil, "mariadb", "--no-defaults", "--socket="+sock(run), "-u", "root", "-e", "CREATE DATABASE sbtest"); err != nil {
				return err
			}
			_, err := runCmd(30*time.Minute, nil, "sysbench", sb(run, "oltp_read_write", "--threads=2", "prepare")...)
			return err
		})
	}
	return e
}

var pgTPS = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

func postgresEngine() *engine {
	e := &engine{name: "postgres", user: "postgres", stopSig: syscall.SIGINT,
		zkExtra: []string{"--signal-map", "TERM:INT", "--stop-signal", "INT"}}
	e.argv = func(data, run string) []string {
		return []string{pgBin + "/postgres", "-D", data, "-k", run, "-c", "listen_addresses=",
			"-c", "synchronous_commit=on", "-c", "fsync=on", "-c", "wal_level=minimal", "-c", "max_wal_senders=0",
			"-c", "wal_sync_method=open_datasync", "-c", "shared_buffers=128MB"}
	}
	psql := func(run, sql string) error {
		_, err := runCmd(5*time.Minute, nil, pgBin+"/psql", "-h", run, "-U", "postgres", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql, "postgres")
		return err
	}
	e.ready = func(run string) error {
		return waitReady(120*time.Second, func() error {
			_, err := runCmd(10*time.Second, nil, pgBin+"/pg_isready", "-q", "-h", run, "-U", "postgres")
			return err
		})
	}
	e.warm = func(run string) error {
		return psql(run, "SELECT pg_prewarm(oid) FROM pg_class WHERE relname LIKE 'pgbench_%' AND relkind IN ('r', 'i')")
	}
	e.client = func(run string, w workload, d time.Duration) (float64, error) {
		args := append([]string{"-h", run, "-U", "postgres", "-n", "-c", "1", "-j", "1", "-T", strconv.Itoa(int(d.Seconds()))}, w.args...)
		return clientTPS(d, pgTPS, pgBin+"/pgbench", append(args, "postgres")...)
	}
	e.template = func(s *storageRun, dir string) error {
		cred, err := credential("postgres")
		if err != nil {
			return err
		}
		if _, err := runCmd(2*time.Minute, cred, pgBin+"/initdb", "-D", dir, "-A", "trust", "-U", "postgres", "--no-sync"); err != nil {
			return err
		}
		return s.withServer(e, dir, []string{"-c", "synchronous_commit=off"}, func(run string) error {
			if _, err := runCmd(30*time.Minute, nil, pgBin+"/pgbench", "-h", run, "-U", "postgres", "-i", "-q",
				"-s", strconv.Itoa(*pgScale), "postgres"); err != nil {
				return err
			}
			return psql(run, "CREATE EXTENSION pg_prewarm; CHECKPOINT")
		})
	}
	return e
}

// clientTPS runs a client for d and parses its transactions per second.
func clientTPS(d time.Duration, re *regexp.Regexp, name string, args ...string) (float64, error) {
	out, err := runCmd(d+2*time.Minute, nil, name, args...)
	if err != nil {
		return 0, err
	}
	m := re.FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("%s: no transactions per second in\n%s", name, tail(out, 10))
	}
	return strconv.ParseFloat(m[1], 64)
}

// copyTree copies a data directory with its owners and modes (cp -a).
func copyTree(src, dst string) error {
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		return fmt.Errorf("cp -a %s %s: %v: %s", src, dst, err, out)
	}
	return nil
}
