package examples

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const composeFile = "compose/docker-compose.yml"

// compose runs docker-compose on the example with a project name and
// extra environment, and returns its output.
func compose(t *testing.T, project string, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker-compose", append([]string{"-f", composeFile, "-p", project}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestComposeConfig checks the compose file with docker-compose config, as
// it is (official images) and with local images.
func TestComposeConfig(t *testing.T) {
	if _, err := exec.LookPath("docker-compose"); err != nil {
		t.Fatalf("docker-compose is needed (apt-get install docker-compose): %v", err)
	}
	out, err := compose(t, "zkfence-config", nil, "config")
	if err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, out)
	}
	for _, want := range []string{"image: zookeeper:3.8", "image: zkfence/postgres:15", "ZKFENCE_LOCK: /zkfence/compose-pg",
		"server.3=zoo3:2888:3888;2181", "pgdata:/var/lib/postgresql/data", "stop_grace_period: 30s", "SYS_ADMIN"} {
		if !strings.Contains(out, want) {
			t.Errorf("docker-compose config lacks %q:\n%s", want, out)
		}
	}
	out, err = compose(t, "zkfence-config", []string{"ZKFENCE_PG_IMAGE=zkfence-local/postgres:x", "ZKFENCE_ZK_IMAGE=zkfence-local/zookeeper:y"}, "config")
	if err != nil || !strings.Contains(out, "image: zkfence-local/postgres:x") || !strings.Contains(out, "image: zkfence-local/zookeeper:y") {
		t.Errorf("the image variables do not take: %v\n%s", err, out)
	}
}

// TestComposeUp brings the example up with the local images: a ZooKeeper
// ensemble of three, two PostgreSQL replicas on one volume. One serves and
// the other waits; stopping the one that serves hands over to the other.
func TestComposeUp(t *testing.T) {
	set := testImages(t)
	t.Parallel()
	pool := newPool(t)
	project := "zkfence-compose-" + uniq()
	env := []string{"ZKFENCE_PG_IMAGE=" + set.Postgres, "ZKFENCE_ZK_IMAGE=" + set.ZooKeeper}
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := compose(t, project, env, "logs", "--no-color")
			t.Logf("--- docker-compose logs:\n%s", out)
		}
		if out, err := compose(t, project, env, "down", "-v", "--timeout", "30"); err != nil {
			t.Errorf("docker-compose down: %v\n%s", err, out)
		}
	})
	t0 := time.Now()
	if out, err := compose(t, project, env, "up", "-d", "--no-build"); err != nil {
		t.Fatalf("docker-compose up: %v\n%s", err, out)
	}
	ids := map[string]string{}
	for _, svc := range []string{"pg-a", "pg-b"} {
		out, err := compose(t, project, env, "ps", "-q", svc)
		if err != nil || strings.TrimSpace(out) == "" {
			t.Fatalf("docker-compose ps -q %s: %v %s", svc, err, out)
		}
		ids[svc] = strings.TrimSpace(out)
	}
	psql := []string{"psql", "-U", "postgres", "-tAc", "select 1"}
	var holder, waiter string
	waitFor(t, "one replica serves and the other waits", 4*time.Minute, 500*time.Millisecond, func() (bool, string) {
		for _, pair := range [][2]string{{"pg-a", "pg-b"}, {"pg-b", "pg-a"}} {
			if code, _ := dockerExec(t, pool, ids[pair[0]], psql...); code != 0 {
				continue
			}
			ok, out := lockLine(t, &container{pool: pool, id: ids[pair[1]]}, pair[0], pair[1])
			if ok {
				holder, waiter = pair[0], pair[1]
			}
			return ok, out
		}
		return false, "neither replica serves yet"
	})
	t.Logf("compose: %s serves, %s waits, %s after docker-compose up", holder, waiter, time.Since(t0).Round(100*time.Millisecond))
	if code, out := dockerExec(t, pool, ids[waiter], psql...); code == 0 {
		t.Fatalf("%s's PostgreSQL answers while %s holds the lock: %s", waiter, holder, out)
	}

	t1 := time.Now()
	if out, err := compose(t, project, env, "stop", holder); err != nil {
		t.Fatalf("docker-compose stop %s: %v\n%s", holder, err, out)
	}
	waitFor(t, waiter+" takes over", time.Minute, 100*time.Millisecond, func() (bool, string) {
		code, out := dockerExec(t, pool, ids[waiter], psql...)
		return code == 0, out
	})
	t.Logf("compose: %s serves %s after docker-compose stop %s began", waiter, time.Since(t1).Round(time.Millisecond), holder)
}
