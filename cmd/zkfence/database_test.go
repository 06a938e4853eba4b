package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zkfence/zkfence/exitcode"
	"github.com/zkfence/zkfence/internal/dbtest"
)

// engineRun is a `zkfence run` of a real database server on dataDir.
func engineRun(t *testing.T, engine, p, dataDir, sockDir string, extra ...string) *wrapper {
	t.Helper()
	args := append([]string{"--engine", engine}, extra...)
	if engine == dbtest.Postgres {
		args = append(args, "--user", "postgres") // PostgreSQL refuses root
	}
	args = append(append(args, "--"), dbtest.Argv(engine, dataDir, sockDir)...)
	return startWrapper(t, nil, runArgs(server.Addr(), p, args...)...)
}

// socketDir makes a directory the engine's user can create its socket in.
func socketDir(t *testing.T, engine, parent string) string {
	t.Helper()
	dir := filepath.Join(parent, "sock")
	uid, gid, err := dbtest.User(engine)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	return dir
}

// query waits until the server answers and runs sql.
func query(t *testing.T, engine, sockDir, sql string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := dbtest.Query(engine, sockDir, sql)
		if err == nil {
			return strings.TrimSpace(out)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer %q: %v", engine, sql, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// cleanShutdown and crashRecovery are what each engine logs.
var (
	cleanShutdown = map[string]string{dbtest.Postgres: "database system is shut down", dbtest.MySQL: "Shutdown complete"}
	crashRecovery = map[string][]string{
		dbtest.Postgres: {"was interrupted", "redo starts", "not properly shut down"},
		dbtest.MySQL:    {"crash recovery", "Starting crash recovery"},
	}
)

func TestDatabasesShutDownCleanlyOnDockerStop(t *testing.T) {
	for _, engine := range []string{dbtest.Postgres, dbtest.MySQL} {
		t.Run(engine, func(t *testing.T) {
			needBinaryAndZK(t)
			p, dir := lockPath(t), dbtest.TempDir(t)
			data := filepath.Join(dir, "data")
			if err := dbtest.Init(engine, data); err != nil {
				t.Fatal(err)
			}
			sock := socketDir(t, engine, dir)
			w := engineRun(t, engine, p, data, sock)
			query(t, engine, sock, "create schema zkt")
			query(t, engine, sock, "create table zkt.t (id int primary key)")
			query(t, engine, sock, "insert into zkt.t values (1), (2), (3)")

			w.signal(syscall.SIGTERM) // what docker stop sends to PID 1
			if code := w.wait(60 * time.Second); code != 0 {
				t.Fatalf("exit %d after SIGTERM, want the server's clean 0\n%s", code, w.log())
			}
			if !strings.Contains(w.log(), cleanShutdown[engine]) {
				t.Fatalf("no clean shutdown in the server log (%q)\n%s", cleanShutdown[engine], w.log())
			}
			again := engineRun(t, engine, p, data, sock)
			if got := query(t, engine, sock, "select count(*) from zkt.t"); !strings.HasSuffix(got, "3") {
				t.Fatalf("rows after restart: %q, want 3", got)
			}
			for _, s := range crashRecovery[engine] {
				if strings.Contains(again.log(), s) {
					t.Fatalf("the restart ran crash recovery (%q): the shutdown was not clean\n%s", s, again.log())
				}
			}
			again.signal(syscall.SIGTERM)
			again.wait(60 * time.Second)
		})
	}
}

func TestRestoreAtStartThroughZkfence(t *testing.T) {
	needBinaryAndZK(t)
	engine := dbtest.Postgres
	p, dir := lockPath(t), dbtest.TempDir(t)
	data, catalog := filepath.Join(dir, "data"), filepath.Join(dir, "catalog")
	if err := dbtest.Init(engine, data); err != nil {
		t.Fatal(err)
	}
	sock := socketDir(t, engine, dir)
	w := engineRun(t, engine, p, data, sock)
	query(t, engine, sock, "create table orders (id int primary key)")
	query(t, engine, sock, "insert into orders select generate_series(1, 500)")
	out, err := exec.Command(binary, "backup", "--engine", engine, "--to", catalog, "--db-socket", sock, "--user", "postgres").CombinedOutput()
	if err != nil {
		t.Fatalf("zkfence backup: %v\n%s", err, out)
	}
	w.signal(syscall.SIGTERM)
	w.wait(60 * time.Second)

	// The data directory is lost; the next start restores it under the lock.
	if err := os.RemoveAll(data); err != nil {
		t.Fatal(err)
	}
	r := engineRun(t, engine, p, data, sock, "--data-dir", data, "--restore-from", catalog)
	if got := query(t, engine, sock, "select count(*) from orders"); got != "500" {
		t.Fatalf("rows after restore: %q, want 500", got)
	}
	// A base backup starts from its checkpoint and replays its WAL, so the
	// restored server logs a recovery; it must then accept connections.
	r.waitLog(`msg="restore done"`, time.Second)
	if !strings.Contains(r.log(), "database system is ready to accept connections") {
		t.Fatalf("restored server not ready\n%s", r.log())
	}
	r.signal(syscall.SIGTERM)
	r.wait(60 * time.Second)

	// With the data directory present, nothing is restored.
	again := engineRun(t, engine, p, data, sock, "--data-dir", data, "--restore-from", catalog)
	query(t, engine, sock, "select 1")
	if strings.Contains(again.log(), `msg="restore done"`) {
		t.Fatal("a non-empty data directory was restored over")
	}
	again.signal(syscall.SIGTERM)
	again.wait(60 * time.Second)
}

func TestRestoreRequiredWithoutBackupStartsNothing(t *testing.T) {
	needBinaryAndZK(t)
	p, dir := lockPath(t), dbtest.TempDir(t)
	marker := filepath.Join(dir, "started")
	w := startWrapper(t, nil, runArgs(server.Addr(), p, "--data-dir", filepath.Join(dir, "data"), "--engine", "postgres",
		"--restore-from", filepath.Join(dir, "empty-catalog"), "--restore-required", "--", "touch", marker)...)
	if code := w.wait(30 * time.Second); code != exitcode.RestoreFailed {
		t.Fatalf("exit %d, want %d", code, exitcode.RestoreFailed)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the child started without its required restore")
	}
	w.waitLog(`msg="lock released"`, time.Second)
}
