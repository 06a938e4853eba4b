package examples

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/zkfence/zkfence/internal/images"
)

// engineCase is what differs between the PostgreSQL and the MariaDB image.
type engineCase struct {
	name     string
	image    func(images.Set) string
	dataPath string   // where the shared volume is mounted
	env      []string // besides ZKFENCE_ZK and ZKFENCE_LOCK
	ping     []string // exit 0 once the server accepts connections
	write    []string // creates table t with 1000 rows
	read     []string // prints the row count
	// stopTimeout is docker stop's timeout: the Dockerfiles' advice.
	stopTimeout uint
	// cleanStop is in the holder's log after docker stop; cleanStart is in
	// the standby's log when it starts on the data of a clean shutdown;
	// crash is in it after an unclean one.
	cleanStop, cleanStart string
	crash                 []string
	// holderLog are more lines the holder's log must have.
	holderLog []string
	// capAdd are capabilities the containers get (docker run --cap-add).
	capAdd []string
}

// postgresGuarded is the PostgreSQL image with zkfence guarding the volume
// (docker/README.md): the volume is the mount, the data directory one
// level down, and the fence record next to it. It also has the freeze
// guard (SYS_ADMIN; required with ZKFENCE_FREEZE_GUARD=on): zkfence, PID 1,
// runs itself again under a minimal init, and PostgreSQL runs in a PID
// namespace of its own; docker stop must still be a clean shutdown.
var postgresGuarded = func() engineCase {
	ec := engineCases[0]
	ec.name = "postgres-guarded"
	ec.env = append([]string{"ZKFENCE_MOUNT=/var/lib/postgresql/data", "PGDATA=/var/lib/postgresql/data/pgdata",
		"ZKFENCE_CLAIM_VOLUME=true", "ZKFENCE_FREEZE_GUARD=on"}, ec.env...)
	ec.holderLog = []string{`msg="storage ready" path=/var/lib/postgresql/data`, `msg="fence token written"`,
		`msg="PID 1: running zkfence again under a minimal init`, `msg="freeze guard armed`}
	ec.capAdd = []string{"SYS_ADMIN"}
	return ec
}()

var engineCases = []engineCase{
	{
		name:     "postgres",
		image:    func(s images.Set) string { return s.Postgres },
		dataPath: "/var/lib/postgresql/data",
		env:      []string{"POSTGRES_PASSWORD=zkfence-test"},
		ping:     []string{"psql", "-U", "postgres", "-tAc", "select 1"},
		write: []string{"psql", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-c",
			"create table t (i int primary key); insert into t select generate_series(1, 1000)"},
		read:        []string{"psql", "-U", "postgres", "-tAc", "select count(*) from t"},
		stopTimeout: 30,
		cleanStop:   "database system is shut down",
		cleanStart:  "database system was shut down at",
		crash:       []string{"not properly shut down", "automatic recovery in progress", "database system was interrupted"},
		// Docker's default capabilities allow no PID namespace: auto says so.
		holderLog: []string{`FREEZE GUARD OFF`},
	},
	{
		name:     "mariadb",
		image:    func(s images.Set) string { return s.MariaDB },
		dataPath: "/var/lib/mysql",
		ping:     []string{"mariadb", "-e", "select 1"},
		write: []string{"mariadb", "-e",
			"create database d; use d; create table t (i int primary key) engine=innodb; insert into t select seq from seq_1_to_1000"},
		read:        []string{"mariadb", "-NBe", "select count(*) from d.t"},
		stopTimeout: 60,
		cleanStop:   "mariadbd: Shutdown complete",
		cleanStart:  "ready for connections",
		crash:       []string{"crash recovery", "was not shut down normally"},
		holderLog:   []string{`FREEZE GUARD OFF`},
	},
}

// TestImageFailover runs each image twice on one lock and one volume, with
// a ZooKeeper container: the first serves, the second waits (its database
// not started, its health check failing), `docker stop` of the first shuts
// its database down cleanly, and the second takes over with the data
// intact and without crash recovery. It logs the time from `docker stop` to
// the standby answering queries.
func TestImageFailover(t *testing.T) {
	set := testImages(t)
	for _, ec := range append(engineCases, postgresGuarded) {
		t.Run(ec.name, func(t *testing.T) {
			t.Parallel()
			testFailover(t, ec, set)
		})
	}
}

func testFailover(t *testing.T, ec engineCase, set images.Set) {
	pool := newPool(t)
	id := uniq()
	network := newNetwork(t, pool, "zkfence-test-"+ec.name+"-"+id)
	zk := "zkfence-test-zk-" + id
	startZooKeeper(t, pool, network, zk, set.ZooKeeper)
	volume := namedVolume(t, pool, "zkfence-test-"+ec.name+"-data-"+id)
	image := ec.image(set)
	env := append([]string{
		"ZKFENCE_ZK=" + zk + ":2181",
		"ZKFENCE_LOCK=/zkfence/test-" + ec.name,
		// docker/zookeeper's zoo.cfg: tickTime 2000, syncLimit 2.
		"ZKFENCE_ZK_TICK_TIME=2s", "ZKFENCE_ZK_SYNC_LIMIT=2",
	}, ec.env...)
	binds := []string{volume + ":" + ec.dataPath}
	check := healthcheck(t, pool, image)

	// The first container takes the lock, initialises the volume and serves.
	holder := runContainer(t, pool, network, "zkfence-test-"+ec.name+"-a-"+id, image, env, binds, ec.capAdd)
	d := waitFor(t, "the first container serves", 3*time.Minute, 250*time.Millisecond, func() (bool, string) {
		code, out := holder.exec(t, ec.ping...)
		return code == 0, out
	})
	t.Logf("%s: first container serving %s after it started (initialising the data directory)", ec.name, d.Round(10*time.Millisecond))
	if code, out := holder.exec(t, ec.write...); code != 0 {
		t.Fatalf("write: exit %d: %s", code, out)
	}

	// The second one, on the same lock and volume, waits.
	standby := runContainer(t, pool, network, "zkfence-test-"+ec.name+"-b-"+id, image, env, binds, ec.capAdd)
	waitFor(t, "the second container waits for the lock", time.Minute, 250*time.Millisecond, func() (bool, string) {
		return lockLine(t, standby, holder.name, standby.name)
	})
	if code, out := standby.exec(t, ec.ping...); code == 0 {
		t.Fatalf("the standby's database answers while the other container holds the lock: %s", out)
	}
	if code, out := holder.exec(t, check...); code != 0 {
		t.Errorf("health check %v of the holder: exit %d: %s", check, code, out)
	}
	if code, out := standby.exec(t, check...); code == 0 {
		t.Errorf("health check %v of the standby passes; it must fail while it waits: %s", check, out)
	}

	// docker stop of the holder: a clean shutdown, then the standby serves.
	t0 := time.Now()
	if err := pool.Client.StopContainer(holder.id, ec.stopTimeout); err != nil {
		t.Fatalf("docker stop: %v", err)
	}
	stopped := time.Since(t0)
	want := "1000"
	waitFor(t, "the standby serves", time.Minute, 50*time.Millisecond, func() (bool, string) {
		code, out := standby.exec(t, ec.read...)
		return code == 0 && strings.TrimSpace(out) == want, out
	})
	served := time.Since(t0)
	t.Logf("%s: docker stop of the holder returned after %s; the standby answered queries %s after docker stop began",
		ec.name, stopped.Round(time.Millisecond), served.Round(time.Millisecond))

	st, err := pool.Client.InspectContainer(holder.id)
	if err != nil {
		t.Fatal(err)
	}
	if st.State.ExitCode != 0 {
		t.Errorf("the stopped holder exited with %d, want 0 (the database's own clean exit)", st.State.ExitCode)
	}
	holderLog := holder.logs(t)
	for _, s := range append([]string{ec.cleanStop, `msg="lock released"`}, ec.holderLog...) {
		if !strings.Contains(holderLog, s) {
			t.Errorf("the holder's log lacks %q", s)
		}
	}
	standbyLog := standby.logs(t)
	if !strings.Contains(standbyLog, ec.cleanStart) {
		t.Errorf("the standby's log lacks %q", ec.cleanStart)
	}
	for _, s := range ec.crash {
		if strings.Contains(standbyLog, s) {
			t.Errorf("the standby's log shows crash recovery: %q", s)
		}
	}
	if t.Failed() {
		t.Logf("--- holder:\n%s\n--- standby:\n%s", holderLog, standbyLog)
	}
}

// lockLine checks, with `zkfence status --json` run in c, that the
// container named holder holds the lock and the one named waiter waits
// right behind it.
func lockLine(t *testing.T, c *container, holder, waiter string) (bool, string) {
	code, out := c.exec(t, "zkfence", "status", "--json", "--connect-timeout", "5s")
	if code != 0 {
		return false, out
	}
	var st struct {
		Holder *struct {
			Holder *struct{ Host string } `json:"holder"`
		} `json:"holder"`
		Waiting []struct {
			Holder *struct{ Host string } `json:"holder"`
		} `json:"waiting"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return false, out
	}
	ok := st.Holder != nil && st.Holder.Holder != nil && st.Holder.Holder.Host == holder &&
		len(st.Waiting) == 1 && st.Waiting[0].Holder != nil && st.Waiting[0].Holder.Host == waiter
	return ok, out
}
