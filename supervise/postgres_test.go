package supervise

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

const pgBin = "/usr/lib/postgresql/15/bin"

// TestPostgresCleanShutdown runs PostgreSQL 15 under zkwrap as PID 1, as the
// test user (postgres refuses to run as root), with the engine's default
// signal map, and a client connected. SIGTERM to the init reaches postgres as
// SIGINT: a fast shutdown, which disconnects the client (a smart shutdown
// would wait for it), writes a shutdown checkpoint and exits 0.
func TestPostgresCleanShutdown(t *testing.T) {
	ensureTestUser(t)
	uid, _ := strconv.Atoi(idOf(t, "-u", testUser))
	gid, _ := strconv.Atoi(idOf(t, "-g", testUser))
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} { // the test user must reach its directories
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, sock := filepath.Join(dir, "data"), filepath.Join(dir, "sock")
	for _, d := range []string{data, sock} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	initdb := exec.Command(pgBin+"/initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	initdb.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir, "LC_ALL=C.UTF-8"}
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}

	r := startInit(t, kindZkwrap, true, []string{"-engine", "postgres", "-user", testUser},
		pgBin+"/postgres", "-D", data, "-k", sock, "-c", "listen_addresses=", "-p", "5499")
	waitFor(t, "postgres ready", func() bool {
		return strings.Contains(r.out.String(), "database system is ready to accept connections")
	})
	client := exec.Command("/usr/bin/psql", "-h", sock, "-p", "5499", "-U", "postgres", "-X", "-c", "select pg_sleep(600)")
	client.Env = []string{"PATH=/usr/bin:/bin", "PGCONNECT_TIMEOUT=30"}
	clientOut, err := os.Create(filepath.Join(dir, "client.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer clientOut.Close()
	client.Stdout, client.Stderr = clientOut, clientOut
	if err := client.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Process.Kill(); _ = client.Wait() }()
	waitFor(t, "the client's query", func() bool { return pgSleeping(sock) })

	r.signal(t, syscall.SIGTERM)
	code := r.wait()
	out := r.out.String()
	if code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	for _, want := range []string{"received fast shutdown request", "database system is shut down"} {
		if !strings.Contains(out, want) {
			t.Errorf("postgres log lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("postgres log:\n%s", out)
	}
	if err := client.Wait(); err == nil {
		t.Error("the client's query was not cut off by the fast shutdown")
	}
}

// pgSleeping reports whether a backend is running pg_sleep.
func pgSleeping(sock string) bool {
	out, err := exec.Command("/usr/bin/psql", "-h", sock, "-p", "5499", "-U", "postgres", "-X", "-A", "-t", "-c",
		"select count(*) from pg_stat_activity where query like 'select pg_sleep%' and state = 'active'").Output()
	return err == nil && strings.TrimSpace(string(out)) == "1"
}
