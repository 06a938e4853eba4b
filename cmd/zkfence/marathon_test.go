package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/zkfence/zkfence/exitcode"
	"github.com/zkfence/zkfence/marathon"
)

// runMarathon runs `zkfence marathon args...` with stdin and returns its
// stdout and stderr, and the exit code main would give.
func runMarathon(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	app := &cli.App{Name: "zkfence", Writer: &out, ErrWriter: &errOut, Reader: strings.NewReader(stdin),
		ExitErrHandler: func(*cli.Context, error) {}, Commands: []*cli.Command{marathonCommand()}}
	err := app.Run(append([]string{"zkfence", "marathon"}, args...))
	if err != nil {
		errOut.WriteString(err.Error())
	}
	return out.String(), errOut.String(), exitCodeOf(err)
}

const corpus = "../../../shared/marathon-corpus"

func TestMarathonRenderAndValidate(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.json")
	t.Setenv("ZKFENCE_MARATHON_ENGINE", "postgres")
	_, errOut, code := runMarathon(t, "", "render", "--id", "/db/orders", "--zk", "zk1:2181", "--volume-size", "2048",
		"--volume-type", "mount", "--volume-path-regex", "/mnt/ssd-.+", "--mesos-role", "foo",
		"--constraint", "hostname:UNIQUE", "--env", "TZ=UTC", "--output", app)
	if code != 0 {
		t.Fatalf("render: %d %s", code, errOut)
	}
	out, errOut, code := runMarathon(t, "", "validate", "--mesos-role", "foo", app)
	if code != 0 || !strings.Contains(out, "valid app") {
		t.Fatalf("validate: %d %s %s", code, out, errOut)
	}
	var a marathon.App
	b, _ := os.ReadFile(app)
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	v := a.Container.Volumes[0].Persistent
	if v.Size != 2048 || v.Type != "mount" || len(v.Constraints) != 1 || a.Env["TZ"].Value != "UTC" ||
		len(a.Constraints) != 1 || !strings.Contains(*a.Cmd, "--engine postgres") {
		t.Fatalf("rendered %s", b)
	}
}

func TestMarathonRenderSpecFile(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "spec.json")
	os.WriteFile(spec, []byte(`{"kind": "pod", "id": "/db/my", "engine": "mysql", "zk": "zk:2181", "volume": {"size": 100}}`), 0o600)
	out, errOut, code := runMarathon(t, "", "render", "--spec", spec, "--volume-size", "300")
	if code != 0 {
		t.Fatalf("render: %d %s", code, errOut)
	}
	var p marathon.Pod
	if err := json.Unmarshal([]byte(out), &p); err != nil || p.Volumes[0].Persistent.Size != 300 || p.Role != "db" {
		t.Fatalf("rendered %v %s", err, out)
	}
	os.WriteFile(spec, []byte(`{"id": "/db/my", "engin": "mysql"}`), 0o600)
	if _, errOut, code := runMarathon(t, "", "render", "--spec", spec); code != exitcode.RefusedConfig ||
		!strings.Contains(errOut, `unknown field "engin"`) {
		t.Fatalf("misspelt spec: %d %s", code, errOut)
	}
}

func TestMarathonValidateRefuses(t *testing.T) {
	out, errOut, code := runMarathon(t, "", "validate", "--mesos-role", "foo", "--kind", "pod",
		filepath.Join(corpus, "invalid/podsresource-role-star.json"))
	var ve marathon.ValidationError
	if code != exitcode.RefusedConfig || json.Unmarshal([]byte(out), &ve) != nil || !ve.Has("/role", "Resident pods cannot have the role *") {
		t.Fatalf("want the 422 body on stdout and exit 78, got %d\n%s\n%s", code, out, errOut)
	}
	// The update rules apply with --update-from.
	dir := t.TempDir()
	from, to := filepath.Join(dir, "from.json"), filepath.Join(dir, "to.json")
	def, _ := marathon.Render(marathon.Spec{ID: "/db/pg", Engine: "postgres", ZK: "zk:2181", MesosRole: "foo",
		Volume: marathon.VolumeSpec{Size: 100}})
	os.WriteFile(from, def, 0o600)
	os.WriteFile(to, bytes.Replace(def, []byte(`"size": 100`), []byte(`"size": 200`), 1), 0o600)
	out, _, code = runMarathon(t, "", "validate", "--mesos-role", "foo", "--update-from", from, to)
	if code != exitcode.RefusedConfig || !strings.Contains(out, "Persistent volumes can not be changed!") {
		t.Fatalf("update: %d %s", code, out)
	}
	for _, tt := range []struct {
		name, stdin, want string
		args              []string
	}{
		{"missing file", "", "no such file", []string{"validate", "/nonexistent/app.json"}},
		{"not JSON", "{bad", "not valid JSON", []string{"validate", "-"}},
		{"unknown kind", "{}", `unknown kind "group"`, []string{"validate", "--kind", "group", "-"}},
		{"no file", "", "want one argument", []string{"validate"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, errOut, code := runMarathon(t, tt.stdin, tt.args...); code != exitcode.RefusedConfig || !strings.Contains(errOut, tt.want) {
				t.Fatalf("want exit 78 and %q, got %d %s", tt.want, code, errOut)
			}
		})
	}
}

// miniMarathon answers what deploy, tasks, volumes and wipe ask, in
// Marathon's shapes, and records the requests and their Authorization.
type miniMarathon struct {
	mu       sync.Mutex
	requests []string
	auth     []string
	app      json.RawMessage
	tasks    []marathon.Task
}

func (m *miniMarathon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests = append(m.requests, r.Method+" "+r.URL.RequestURI())
	m.auth = append(m.auth, r.Header.Get("Authorization"))
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/v2/info":
		w.Write([]byte(`{"marathon_config": {"mesos_role": "foo"}}`))
	case r.Method == "GET" && r.URL.Path == "/v2/apps/db/pg" && m.app == nil:
		w.WriteHeader(404)
		w.Write([]byte(`{"message": "App '/db/pg' does not exist"}`))
	case r.Method == "GET" && r.URL.Path == "/v2/apps/db/pg":
		json.NewEncoder(w).Encode(map[string]any{"app": m.app})
	case r.Method == "POST" && r.URL.Path == "/v2/apps":
		json.NewDecoder(r.Body).Decode(&m.app)
		w.WriteHeader(201)
		w.Write([]byte(`{"id": "/db/pg", "deployments": [{"id": "dep-7"}]}`))
	case r.Method == "GET" && r.URL.Path == "/v2/apps/db/pg/tasks":
		json.NewEncoder(w).Encode(map[string]any{"tasks": m.tasks})
	case r.Method == "DELETE" && r.URL.Path == "/v2/apps/db/pg/tasks/db_pg.2":
		json.NewEncoder(w).Encode(map[string]any{"task": m.tasks[1]})
	default:
		w.WriteHeader(404)
		w.Write([]byte(`{"message": "Not Found"}`))
	}
}

func TestMarathonDeployTasksVolumesWipe(t *testing.T) {
	m := &miniMarathon{tasks: []marathon.Task{
		{ID: "db_pg.1", AppID: "/db/pg", Host: "10.0.0.1", SlaveID: "S1", StartedAt: "2024-05-01T10:00:05.000Z",
			LocalVolumes: []marathon.LocalVolume{{ContainerPath: "pgdata", PersistenceID: "db_pg#pgdata#u1"}}},
		{ID: "db_pg.2", AppID: "/db/pg", Host: "10.0.0.2", SlaveID: "S2",
			LocalVolumes: []marathon.LocalVolume{{ContainerPath: "pgdata", PersistenceID: "db_pg#pgdata#u2"}}},
	}}
	srv := httptest.NewServer(m)
	defer srv.Close()
	t.Setenv("ZKFENCE_MARATHON_URL", srv.URL)
	t.Setenv("ZKFENCE_MARATHON_TOKEN", "tok-123")
	app := filepath.Join(t.TempDir(), "app.json")
	if _, errOut, code := runMarathon(t, "", "render", "--id", "/db/pg", "--engine", "postgres", "--zk", "zk:2181",
		"--volume-size", "100", "--mesos-role", "foo", "--output", app); code != 0 {
		t.Fatal(errOut)
	}
	steps := []struct {
		stdin, want string
		code        int
		args        []string
	}{
		{"", "created " + app + ": deployment dep-7", 0, []string{"deploy", app}},
		{"", "db_pg.2  10.0.0.2  S2     -      -                         db_pg#pgdata#u2", 0, []string{"tasks", "/db/pg"}},
		{"", `"persistenceId": "db_pg#pgdata#u2"`, 0, []string{"volumes", "--json", "/db/pg"}},
		{"no\n", "wipe not confirmed", exitcode.RefusedConfig, []string{"wipe", "/db/pg", "db_pg.2"}},
		{"", "scale the service down first", exitcode.RefusedConfig, []string{"wipe", "--scale", "--yes", "/db/pg", "db_pg.2"}},
		{"yes\n", "wiped task db_pg.2 of app /db/pg on 10.0.0.2 (agent S2, not running, volumes db_pg#pgdata#u2)", 0,
			[]string{"wipe", "/db/pg", "db_pg.2"}},
		{"", "app /db/pg has no task db_pg.9", exitcode.Internal, []string{"wipe", "--yes", "/db/pg", "db_pg.9"}},
	}
	for _, s := range steps {
		out, errOut, code := runMarathon(t, s.stdin, s.args...)
		if code != s.code || !strings.Contains(out+errOut, s.want) {
			t.Fatalf("%v: want exit %d and %q, got %d\n%s\n%s", s.args, s.code, s.want, code, out, errOut)
		}
		if strings.Contains(out+errOut, "tok-123") {
			t.Fatalf("%v printed the token", s.args)
		}
	}
	// tasks, volumes and wipe also read the app (GET /v2/apps/db/pg) for
	// its external volumes.
	want := []string{"GET /v2/apps/db/pg", "GET /v2/info", "POST /v2/apps",
		"GET /v2/apps/db/pg/tasks", "GET /v2/apps/db/pg", // tasks
		"GET /v2/apps/db/pg/tasks", "GET /v2/apps/db/pg", // volumes
		"GET /v2/apps/db/pg/tasks", "GET /v2/apps/db/pg", "GET /v2/apps/db/pg", // wipe, not confirmed
		"GET /v2/apps/db/pg/tasks", "GET /v2/apps/db/pg", "GET /v2/apps/db/pg", // wipe
		"DELETE /v2/apps/db/pg/tasks/db_pg.2?wipe=true", "GET /v2/apps/db/pg/tasks"}
	if strings.Join(m.requests, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests\n%s\nwant\n%s", strings.Join(m.requests, "\n"), strings.Join(want, "\n"))
	}
	for _, a := range m.auth {
		if a != "token=tok-123" {
			t.Fatalf("Authorization %q", a)
		}
	}
}

func TestMarathonConformanceCommand(t *testing.T) {
	out, errOut, code := runMarathon(t, "", "conformance", "--corpus", corpus)
	if code != 0 || !strings.Contains(out, "all       59      59") {
		t.Fatalf("%d\n%s\n%s", code, out, errOut)
	}
	if _, errOut, code := runMarathon(t, "", "conformance", "--corpus", t.TempDir()); code != exitcode.RefusedConfig ||
		!strings.Contains(errOut, "cases.tsv") {
		t.Fatalf("empty corpus dir: %d %s", code, errOut)
	}
}
