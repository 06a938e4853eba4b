package restore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zkfence/zkfence/internal/dbtest"
	"github.com/zkfence/zkfence/internal/testlog"
)

// These tests run real PostgreSQL 15 and MariaDB 10.11 servers (Debian's
// packages, as root): write rows, back up with Backup, wipe, restore with
// Run, start the server on the result.

func needDB(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no database servers")
	}
}

// dbEnv is one engine's throwaway server and catalog.
type dbEnv struct {
	engine, dataDir, sockDir, catalog string
	uid, gid                          int
	srv                               *dbtest.Server
}

func newDBEnv(t *testing.T, engine string) *dbEnv {
	t.Helper()
	dir := dbtest.TempDir(t)
	e := &dbEnv{engine: engine, dataDir: filepath.Join(dir, "data"), sockDir: filepath.Join(dir, "sock"),
		catalog: filepath.Join(dir, "backups")}
	var err error
	e.uid, e.gid, err = dbtest.User(engine)
	must(t, err)
	must(t, dbtest.Init(engine, e.dataDir))
	e.start(t)
	t.Cleanup(func() {
		if e.srv != nil {
			e.srv.Kill()
		}
	})
	return e
}

func (e *dbEnv) start(t *testing.T) {
	t.Helper()
	srv, err := dbtest.Start(e.engine, e.dataDir, e.sockDir)
	must(t, err)
	e.srv = srv
}

// stop shuts the server down cleanly and checks its log for trouble.
func (e *dbEnv) stop(t *testing.T) {
	t.Helper()
	must(t, e.srv.Stop())
	out := e.srv.Output()
	e.srv = nil
	ready := map[string]string{Postgres: "database system is ready to accept connections", MySQL: "ready for connections"}
	if !strings.Contains(out, ready[e.engine]) {
		t.Fatalf("server never said it was ready:\n%s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if startupNoise(line) {
			continue // dbtest's readiness probe, answered while starting
		}
		for _, bad := range []string{"PANIC", "FATAL", "ERROR", "corrupt"} {
			if strings.Contains(line, bad) {
				t.Fatalf("server log has %q:\n%s", bad, out)
			}
		}
	}
}

// startupNoise: PostgreSQL refusing dbtest's readiness probe while it
// recovers, or ending a client connection that was still closing when the
// fast shutdown came. Neither says anything about the data.
func startupNoise(line string) bool {
	for _, s := range []string{"not yet accepting connections", "is starting up",
		"terminating connection due to administrator command", "could not send data to client"} {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

func (e *dbEnv) query(t *testing.T, sql string) string {
	t.Helper()
	out, err := e.srv.Query(sql)
	must(t, err)
	return out
}

func (e *dbEnv) backup(t *testing.T, keep int) Manifest {
	t.Helper()
	log, _ := testLogger(t)
	m, err := Backup(context.Background(), e.backupConfig(keep), log)
	must(t, err)
	return m
}

func (e *dbEnv) backupConfig(keep int) BackupConfig {
	cfg := BackupConfig{Engine: e.engine, To: e.catalog, Keep: keep, UID: -1, GID: -1, Conn: Conn{Socket: e.sockDir}}
	if e.engine == MySQL {
		cfg.DataDir, cfg.Conn.Socket = e.dataDir, e.srv.Socket
	}
	return cfg
}

func (e *dbEnv) restoreConfig() Config {
	return Config{DataDir: e.dataDir, Engine: e.engine, From: e.catalog, UID: e.uid, GID: e.gid, Token: 99}
}

// restore runs Run and checks which backup it restored.
func (e *dbEnv) restore(t *testing.T, want string) *testlog.Buffer {
	t.Helper()
	log, logs := testLogger(t)
	res, err := Run(context.Background(), e.restoreConfig(), log)
	must(t, err)
	if !res.Restored || res.Backup != want {
		t.Fatalf("Run = %+v, want backup %s restored", res, want)
	}
	return logs
}

// flipByte corrupts one byte in the middle of a backed-up file.
func flipByte(t *testing.T, backupDir, rel string) {
	t.Helper()
	p := filepath.Join(backupDir, DataSubdir, rel)
	b, err := os.ReadFile(p)
	must(t, err)
	b[len(b)/2] ^= 0xff
	must(t, os.WriteFile(p, b, 0o600))
}

// restoreCycle is the test, for either engine: rows, two backups,
// wipe, restore, rows back; corrupt newest, previous used; non-empty data
// directory left alone; --restore-required without backups refused.
func restoreCycle(t *testing.T, e *dbEnv, create, insert1, insert2, count, relFile string) {
	e.query(t, create)
	e.query(t, insert1)
	m1 := e.backup(t, 5)
	e.query(t, insert2)
	m2 := e.backup(t, 5)
	rel := e.query(t, relFile)
	e.stop(t)

	must(t, os.RemoveAll(e.dataDir)) // wiped: missing
	e.restore(t, m2.Name)
	e.start(t)
	if got := e.query(t, count); got != "2000" {
		t.Fatalf("after restoring %s: %s rows, want 2000", m2.Name, got)
	}
	e.stop(t)

	flipByte(t, filepath.Join(e.catalog, m2.Name), rel)
	must(t, os.RemoveAll(e.dataDir))
	must(t, os.Mkdir(e.dataDir, 0o700)) // wiped: empty
	logs := e.restore(t, m1.Name)
	if !strings.Contains(logs.String(), "backup does not verify") {
		t.Fatalf("no warning about the corrupt backup:\n%s", logs)
	}
	e.start(t)
	if got := e.query(t, count); got != "1000" {
		t.Fatalf("after restoring %s: %s rows, want 1000", m1.Name, got)
	}
	e.stop(t)

	before := snapshot(t, e.dataDir)
	res, err := Run(context.Background(), e.restoreConfig(), nil)
	if err != nil || res.Restored || snapshot(t, e.dataDir) != before {
		t.Fatalf("non-empty data directory: Run = %+v, %v; changed: %v", res, err, snapshot(t, e.dataDir) != before)
	}

	must(t, os.RemoveAll(e.dataDir))
	cfg := e.restoreConfig()
	cfg.From, cfg.Required = filepath.Join(filepath.Dir(e.catalog), "empty-catalog"), true
	if _, err := Run(context.Background(), cfg, nil); !errors.Is(err, ErrRestoreFailed) {
		t.Fatalf("--restore-required without backups: Run = %v, want ErrRestoreFailed", err)
	}
	if _, err := os.Stat(e.dataDir); !os.IsNotExist(err) {
		t.Fatal("a refused restore created the data directory")
	}
}

func TestPostgresBackupAndRestore(t *testing.T) {
	needDB(t)
	e := newDBEnv(t, Postgres)
	restoreCycle(t, e,
		"CREATE TABLE t (id int PRIMARY KEY, v text)",
		"INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, 1000) i",
		"INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1001, 2000) i",
		"SELECT count(*) FROM t",
		"SELECT pg_relation_filepath('t')")
}

func TestMariaDBBackupAndRestore(t *testing.T) {
	needDB(t)
	e := newDBEnv(t, MySQL)
	restoreCycle(t, e,
		"CREATE DATABASE d; CREATE TABLE d.t (id int PRIMARY KEY, v varchar(64)) ENGINE=InnoDB",
		"INSERT INTO d.t SELECT seq, md5(seq) FROM d.seq_1_to_1000",
		"INSERT INTO d.t SELECT seq, md5(seq) FROM d.seq_1001_to_2000",
		"SELECT count(*) FROM d.t",
		"SELECT 'd/t.ibd'")
}

// A scripted restore of a real PostgreSQL backup, and scheduled backups
// with retention.
func TestPostgresScriptedRestoreAndSchedule(t *testing.T) {
	needDB(t)
	e := newDBEnv(t, Postgres)
	e.query(t, "CREATE TABLE t AS SELECT generate_series(1, 500) AS id")

	results := make(chan error, 10)
	s := NewScheduler(e.backupConfig(2), 200*time.Millisecond, nil, func(_ Manifest, err error) { results <- err })
	s.Start(context.Background())
	for range 3 {
		select {
		case err := <-results:
			must(t, err)
		case <-time.After(60 * time.Second):
			t.Fatal("no scheduled backup within 60s")
		}
	}
	s.Stop()
	entries, err := List(e.catalog)
	must(t, err)
	if len(entries) != 2 || !entries[0].Complete() || !entries[1].Complete() {
		t.Fatalf("after 3+ backups with keep 2: %+v", entries)
	}
	e.stop(t)

	must(t, os.RemoveAll(e.dataDir))
	src := filepath.Join(entries[0].Dir, DataSubdir)
	cfg := Config{DataDir: e.dataDir, Engine: Postgres, UID: e.uid, GID: e.gid,
		Cmd: `cp -R "` + src + `/." "$ZKFENCE_STAGING_DIR/"`}
	log, _ := testLogger(t)
	res, err := Run(context.Background(), cfg, log)
	must(t, err)
	if !res.Restored {
		t.Fatalf("Run = %+v", res)
	}
	e.start(t)
	if got := e.query(t, "SELECT count(*) FROM t"); got != "500" {
		t.Fatalf("%s rows after a scripted restore, want 500", got)
	}
	e.stop(t)
}
