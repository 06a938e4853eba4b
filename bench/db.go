package main

// Database throughput through zkfence relative to the bare database: one
// data directory, the server started bare (exec'd by the bench, as the
// database's own user) or through `zkfence run --user ...`, alternating
// A B B A A B ... so that a drift in the machine's load falls on both alike;
// each run starts the server, runs the client for a fixed time, and stops the
// server. The figure is the ratio of the medians.
//
// PostgreSQL 15: pgbench's TPC-B-like script, scale 10, 4 clients.
// MariaDB: sysbench oltp_read_write, 4 tables of 50,000 rows, 4 threads.
// Both commit without waiting for the disk (synchronous_commit=off,
// innodb_flush_log_at_trx_commit=2): the machine's disk is shared with other
// work, and waiting on its fsyncs would only add their noise.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shirou/gopsutil/v3/load"
)

var (
	dbRuns = flag.Int("db-runs", 4, "database throughput: runs per arm (bare, through zkfence)")
	dbTime = flag.Duration("db-time", 15*time.Second, "database throughput: length of each client run")
)

const pgBin = "/usr/lib/postgresql/15/bin"

// dbArm starts the server one way and returns a stop function and the pid
// of zkfence (0 when bare).
type dbArm func() (stop func() error, wrapper int, err error)

// armResult is what one alternate run gives.
type armResults struct {
	bare, wrapped []float64       // scores
	loads         []float64       // 1-minute load average after each run
	wrapperCPU    []time.Duration // zkfence's own CPU during each wrapped client run
	clientTime    []time.Duration // the wall time of those client runs
}

// alternate runs bare and wrapped arms in the order A B B A A B ..., each
// start -> ready -> client -> stop, and returns the scores.
func alternate(bare, wrapped dbArm, ready func() error, client func() (float64, error)) (res armResults, err error) {
	one := func(arm dbArm) (float64, error) {
		stop, wrapper, err := arm()
		if err != nil {
			return 0, err
		}
		score, err := func() (float64, error) {
			if err := ready(); err != nil {
				return 0, err
			}
			var c0 initSample
			if wrapper != 0 {
				c0, _ = readInit(wrapper)
			}
			score, err := client()
			if wrapper != 0 {
				if c1, ok := readInit(wrapper); ok {
					res.wrapperCPU = append(res.wrapperCPU, c1.runtime-c0.runtime)
					res.clientTime = append(res.clientTime, c1.at.Sub(c0.at))
				}
			}
			return score, err
		}()
		if serr := stop(); err == nil && serr != nil {
			err = serr
		}
		res.loads = append(res.loads, loadavg())
		return score, err
	}
	for i := 0; i < *dbRuns; i++ {
		order := []bool{false, true} // wrapped?
		if i%2 == 1 {
			order = []bool{true, false}
		}
		for _, wr := range order {
			arm := bare
			if wr {
				arm = wrapped
			}
			s, err := one(arm)
			if err != nil {
				return res, err
			}
			if wr {
				res.wrapped = append(res.wrapped, s)
			} else {
				res.bare = append(res.bare, s)
			}
		}
	}
	return res, nil
}

func medianF(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func listF(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strings.Join(parts, ", ")
}

func throughputRow(metric, unit string, r armResults, cond string) row {
	b, w, loads := r.bare, r.wrapped, r.loads
	ratio := medianF(w) / medianF(b)
	var cpu, wall time.Duration
	for i := range r.wrapperCPU {
		cpu, wall = cpu+r.wrapperCPU[i], wall+r.clientTime[i]
	}
	share := 0.0
	if wall > 0 {
		share = 100 * cpu.Seconds() / wall.Seconds()
	}
	// Runs i of each arm are adjacent in time (A B, B A, ...): their ratio
	// shares the machine's load at that moment.
	var pairs []float64
	for i := range min(len(b), len(w)) {
		pairs = append(pairs, w[i]/b[i])
	}
	paired := ratioCI(b, w)
	return row{metric, fmt.Sprintf("%.3f", ratio), ">= 0.98",
		fmt.Sprintf("ratio of medians: %s %.0f through zkfence / %.0f bare; adjacent pairs' ratios: geometric mean %.3f, 95%% CI [%.3f, %.3f] (Student's t on the log ratios), range %.3f-%.3f; runs bare [%s], zkfence [%s]; zkfence's own CPU while the clients ran: %s in %.0fs (%.3f%% of one core; it is not in the data path); %s; load avg during runs %.1f-%.1f",
			unit, medianF(w), medianF(b), paired.Value, paired.Lo, paired.Hi, minF(pairs), maxF(pairs), listF(b), listF(w),
			cpu.Round(time.Microsecond), wall.Seconds(), share, cond, minF(loads), maxF(loads))}
}

func meanF(xs []float64) float64 {
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

func minF(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs {
		m = min(m, x)
	}
	return m
}

func maxF(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// loadavg is the 1-minute load average.
func loadavg() float64 {
	l, err := load.Avg()
	if err != nil {
		return 0
	}
	return l.Load1
}

// credential looks up a system user for exec'ing as it.
func credential(name string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("user %s: %w", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// run runs a command with a deadline and returns its combined output.
func runCmd(d time.Duration, cred *syscall.Credential, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tail(string(out), 15))
	}
	return string(out), nil
}

// dbDir makes a temporary directory owned by the database's user.
func dbDir(prefix string, cred *syscall.Credential) (string, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	return dir, os.Chown(dir, int(cred.Uid), int(cred.Gid))
}

// serverArm starts argv bare (as cred) or through zkfence (--user), and
// stops it with stopSig to the server, or SIGTERM to zkfence (mapped).
func serverArm(e *env, wrapped bool, user string, cred *syscall.Credential, lockPath string, zkExtra []string, logFile string, stopSig syscall.Signal, argv []string) dbArm {
	return func() (func() error, int, error) {
		var cmd *exec.Cmd
		if wrapped {
			args := append([]string{"run", "--zk", e.zk.Addr(), "--lock", lockPath, "--user", user}, defaultFlags...)
			args = append(append(append(args, zkExtra...), "--"), argv...)
			cmd = exec.Command(e.zkfence, args...)
		} else {
			cmd = exec.Command(argv[0], argv[1:]...)
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		cmd.Dir = "/"
		log, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, 0, err
		}
		defer log.Close()
		cmd.Stdout, cmd.Stderr = log, log
		p, err := startProc(cmd)
		if err != nil {
			return nil, 0, err
		}
		wrapper := 0
		if wrapped {
			wrapper = p.pid()
		}
		return func() error {
			sig := stopSig
			if wrapped {
				sig = syscall.SIGTERM
			}
			if !p.stop(sig, 90*time.Second) {
				return fmt.Errorf("%s did not stop within 90s (killed); log %s", argv[0], logFile)
			}
			return nil
		}, wrapper, nil
	}
}

// waitReady polls check until it succeeds, for up to d.
func waitReady(d time.Duration, check func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server not ready after %v: %w", d, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func pgThroughput(e *env) ([]row, error) {
	if _, err := os.Stat(pgBin + "/pgbench"); err != nil {
		return nil, errors.New("pgbench not found: apt-get install postgresql-15 postgresql-contrib")
	}
	cred, err := credential("postgres")
	if err != nil {
		return nil, err
	}
	dir, err := dbDir("zkfence-bench-pg-", cred)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	data, sock := filepath.Join(dir, "data"), filepath.Join(dir, "sock")
	if err := os.Mkdir(sock, 0o755); err != nil {
		return nil, err
	}
	if err := os.Chown(sock, int(cred.Uid), int(cred.Gid)); err != nil {
		return nil, err
	}
	if _, err := runCmd(2*time.Minute, cred, pgBin+"/initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"); err != nil {
		return nil, err
	}
	argv := []string{pgBin + "/postgres", "-D", data, "-k", sock, "-c", "listen_addresses=", "-c", "synchronous_commit=off"}
	logFile := filepath.Join(dir, "server.log")
	bare := serverArm(e, false, "postgres", cred, "", nil, logFile, syscall.SIGINT, argv)
	wrapped := serverArm(e, true, "postgres", cred, "/bench/pg", []string{"--signal-map", "TERM:INT", "--stop-signal", "INT"}, logFile, syscall.SIGINT, argv)
	ready := func() error {
		return waitReady(60*time.Second, func() error {
			_, err := runCmd(10*time.Second, nil, pgBin+"/pg_isready", "-q", "-h", sock, "-U", "postgres")
			return err
		})
	}
	// Load the data once, bare.
	stop, _, err := bare()
	if err != nil {
		return nil, err
	}
	if err := ready(); err != nil {
		stop()
		return nil, err
	}
	if _, err := runCmd(5*time.Minute, nil, pgBin+"/pgbench", "-h", sock, "-U", "postgres", "-i", "-s", "10", "-q", "postgres"); err != nil {
		stop()
		return nil, err
	}
	if err := stop(); err != nil {
		return nil, err
	}
	tps := regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)
	client := func() (float64, error) {
		out, err := runCmd(*dbTime+2*time.Minute, nil, pgBin+"/pgbench", "-h", sock, "-U", "postgres", "-n",
			"-c", "4", "-j", "2", "-T", strconv.Itoa(int(dbTime.Seconds())), "postgres")
		if err != nil {
			return 0, err
		}
		m := tps.FindStringSubmatch(out)
		if m == nil {
			return 0, fmt.Errorf("pgbench: no tps in\n%s", tail(out, 10))
		}
		return strconv.ParseFloat(m[1], 64)
	}
	res, err := alternate(bare, wrapped, ready, client)
	if err != nil {
		return nil, err
	}
	return []row{throughputRow("throughput ratio, PostgreSQL 15 pgbench, zkfence / bare", "tps", res,
		fmt.Sprintf("%d+%d runs of %s alternating, same data dir; TPC-B-like, scale 10, 4 clients, synchronous_commit=off", *dbRuns, *dbRuns, *dbTime))}, nil
}

func mariadbThroughput(e *env) ([]row, error) {
	for _, p := range []string{"sysbench", "mariadbd", "mariadb-install-db", "mariadb-admin", "mariadb"} {
		if _, err := exec.LookPath(p); err != nil {
			return nil, fmt.Errorf("%s not found: apt-get install mariadb-server sysbench", p)
		}
	}
	mariadbd, _ := exec.LookPath("mariadbd")
	cred, err := credential("mysql")
	if err != nil {
		return nil, err
	}
	dir, err := dbDir("zkfence-bench-mariadb-", cred)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	data, sock := filepath.Join(dir, "data"), filepath.Join(dir, "mysqld.sock")
	if _, err := runCmd(3*time.Minute, nil, "mariadb-install-db", "--no-defaults", "--datadir="+data, "--user=mysql",
		"--auth-root-authentication-method=socket", "--skip-test-db"); err != nil {
		return nil, err
	}
	argv := []string{mariadbd, "--no-defaults", "--datadir=" + data, "--socket=" + sock, "--skip-networking",
		"--pid-file=" + filepath.Join(dir, "mariadbd.pid"), "--log-error=" + filepath.Join(dir, "error.log"),
		"--innodb-buffer-pool-size=256M", "--innodb-flush-log-at-trx-commit=2", "--max-connections=100"}
	logFile := filepath.Join(dir, "server.log")
	bare := serverArm(e, false, "mysql", cred, "", nil, logFile, syscall.SIGTERM, argv)
	wrapped := serverArm(e, true, "mysql", cred, "/bench/mariadb", nil, logFile, syscall.SIGTERM, argv)
	ready := func() error {
		return waitReady(90*time.Second, func() error {
			_, err := runCmd(10*time.Second, nil, "mariadb-admin", "--no-defaults", "--socket="+sock, "-u", "root", "ping")
			return err
		})
	}
	sb := func(args ...string) []string {
		return append([]string{"oltp_read_write", "--db-driver=mysql", "--mysql-socket=" + sock, "--mysql-user=root",
			"--mysql-db=sbtest", "--tables=4", "--table-size=50000"}, args...)
	}
	stop, _, err := bare()
	if err != nil {
		return nil, err
	}
	if err := ready(); err != nil {
		stop()
		return nil, err
	}
	if _, err := runCmd(time.Minute, nil, "mariadb", "--no-defaults", "--socket="+sock, "-u", "root", "-e", "CREATE DATABASE sbtest"); err != nil {
		stop()
		return nil, err
	}
	if _, err := runCmd(5*time.Minute, nil, "sysbench", sb("prepare")...); err != nil {
		stop()
		return nil, err
	}
	if err := stop(); err != nil {
		return nil, err
	}
	tps := regexp.MustCompile(`transactions:\s+\d+\s+\(([0-9.]+) per sec\.\)`)
	client := func() (float64, error) {
		out, err := runCmd(*dbTime+2*time.Minute, nil, "sysbench", sb("--threads=4", "--time="+strconv.Itoa(int(dbTime.Seconds())), "run")...)
		if err != nil {
			return 0, err
		}
		m := tps.FindStringSubmatch(out)
		if m == nil {
			return 0, fmt.Errorf("sysbench: no transactions/s in\n%s", tail(out, 10))
		}
		return strconv.ParseFloat(m[1], 64)
	}
	res, err := alternate(bare, wrapped, ready, client)
	if err != nil {
		return nil, err
	}
	return []row{throughputRow("throughput ratio, MariaDB sysbench oltp_read_write, zkfence / bare", "tps", res,
		fmt.Sprintf("%d+%d runs of %s alternating, same data dir; 4 tables x 50k rows, 4 threads, innodb_flush_log_at_trx_commit=2", *dbRuns, *dbRuns, *dbTime))}, nil
}
