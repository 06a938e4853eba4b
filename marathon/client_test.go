package marathon

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// serve starts the fake under DC/OS's base path and returns a client for it.
func serve(t *testing.T, f *fakeMarathon, cfg ClientConfig) *Client {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/service/marathon/", http.StripPrefix("/service/marathon", f))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cfg.URL = srv.URL + "/service/marathon/"
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func renderTestApp(t *testing.T, mutate func(*Spec)) []byte {
	t.Helper()
	s := Spec{ID: "/db/pg", Engine: "postgres", ZK: "zk1:2181", MesosRole: "foo", Volume: VolumeSpec{Size: 1024}}
	if mutate != nil {
		mutate(&s)
	}
	def, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	return def
}

func wantLog(t *testing.T, f *fakeMarathon, want ...string) {
	t.Helper()
	if got := f.log(); !reflect.DeepEqual(got, want) {
		t.Fatalf("requests\n%q\nwant\n%q", got, want)
	}
}

func TestDeployCreatesThenUpdates(t *testing.T) {
	f := newFake()
	c := serve(t, f, ClientConfig{})
	ctx := context.Background()
	r, err := c.Deploy(ctx, KindApp, renderTestApp(t, nil), DeployOptions{})
	if err != nil || !r.Created || r.DeploymentID != "dep-1" || r.Forced {
		t.Fatalf("create: %+v, %v", r, err)
	}
	r, err = c.Deploy(ctx, KindApp, renderTestApp(t, func(s *Spec) { s.StopGrace = "45s" }), DeployOptions{MesosRole: "foo"})
	if err != nil || r.Created || r.DeploymentID != "dep-2" || r.Forced {
		t.Fatalf("update: %+v, %v", r, err)
	}
	wantLog(t, f, "GET /v2/apps/db/pg", "GET /v2/info", "POST /v2/apps", "GET /v2/apps/db/pg", "PUT /v2/apps/db/pg")
	if !strings.Contains(string(f.apps["/db/pg"]), "--stop-grace 45s") {
		t.Fatalf("the update did not arrive: %s", f.apps["/db/pg"])
	}
}

func TestDeployForcesARoleChange(t *testing.T) {
	f := newFake()
	f.apps["/db/pg"] = renderTestApp(t, func(s *Spec) { s.Role = "db" })
	c := serve(t, f, ClientConfig{})
	r, err := c.Deploy(context.Background(), KindApp, renderTestApp(t, func(s *Spec) { s.Role = "foo" }), DeployOptions{})
	if err != nil || !r.Forced {
		t.Fatalf("%+v, %v", r, err)
	}
	wantLog(t, f, "GET /v2/apps/db/pg", "GET /v2/info", "PUT /v2/apps/db/pg?force=true")
}

func TestDeployKeepsTheRoleWhenNoneIsGiven(t *testing.T) {
	f := newFake()
	f.apps["/db/pg"] = renderTestApp(t, func(s *Spec) { s.Role = "db" })
	c := serve(t, f, ClientConfig{})
	def := renderTestApp(t, nil)
	var m map[string]any
	json.Unmarshal(def, &m)
	delete(m, "role")
	def, _ = json.Marshal(m)
	if r, err := c.Deploy(context.Background(), KindApp, def, DeployOptions{MesosRole: "foo"}); err != nil || r.Forced {
		t.Fatalf("%+v, %v", r, err)
	}
	var sent App
	json.Unmarshal(f.apps["/db/pg"], &sent)
	if sent.Role != "db" {
		t.Fatalf("sent role %q, want the current role db", sent.Role)
	}
}

func TestDeployRefusesBeforeSending(t *testing.T) {
	f := newFake()
	f.apps["/db/pg"] = renderTestApp(t, nil)
	c := serve(t, f, ClientConfig{})
	_, err := c.Deploy(context.Background(), KindApp, renderTestApp(t, func(s *Spec) { s.Volume.Size = 2048 }), DeployOptions{MesosRole: "foo"})
	var ve *ValidationError
	if !errors.As(err, &ve) || !ve.Has("/", msgAppVolumesChanged) {
		t.Fatalf("want the volume change refused, got %v", err)
	}
	wantLog(t, f, "GET /v2/apps/db/pg")
}

func TestDeployConflict(t *testing.T) {
	f := newFake()
	f.apps["/db/pg"] = renderTestApp(t, nil)
	f.locked["/db/pg"] = "dep-42"
	c := serve(t, f, ClientConfig{})
	_, err := c.Deploy(context.Background(), KindApp, renderTestApp(t, func(s *Spec) { s.StopGrace = "1m" }), DeployOptions{MesosRole: "foo"})
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "409 Conflict: App is locked") ||
		!strings.Contains(err.Error(), "deployments: dep-42") {
		t.Fatalf("want a 409 naming the deployment, got %v", err)
	}
	if _, err := c.Deploy(context.Background(), KindApp, renderTestApp(t, nil), DeployOptions{MesosRole: "foo", Force: true}); err != nil {
		t.Fatalf("with force: %v", err)
	}
}

func TestMarathonRejects(t *testing.T) {
	f := newFake()
	c := serve(t, f, ClientConfig{})
	_, err := c.Deploy(context.Background(), KindApp, []byte(`{"id": "/a", "cmd": "xy", "cpus": -1}`), DeployOptions{SkipValidation: true})
	var ae *APIError
	if !errors.Is(err, ErrRejected) || !errors.As(err, &ae) {
		t.Fatalf("want a 422, got %v", err)
	}
	if ve := ae.ValidationError(); ve == nil || !ve.Has("/cpus", "got -1.0, expected 0.0 or more") || ve.Message != "Object is not valid" {
		t.Fatalf("422 details: %+v", ae)
	}
	if !strings.Contains(err.Error(), "/cpus: got -1.0, expected 0.0 or more") {
		t.Fatalf("the error does not say why: %v", err)
	}
}

// docsTasks are the tasks of Marathon's docs (persistent-volumes.md): one
// running, one suspended (no startedAt) that holds its volume.
func docsTasks() []Task {
	vol := func(uuid string) []LocalVolume {
		return []LocalVolume{{ContainerPath: "pgdata", PersistenceID: "db_pg#pgdata#" + uuid}}
	}
	return []Task{
		{ID: "db_pg.1", AppID: "/db/pg", Host: "10.0.0.1", SlaveID: "agent-S1", State: "TASK_RUNNING",
			StagedAt: "2024-05-01T10:00:00.000Z", StartedAt: "2024-05-01T10:00:05.000Z", LocalVolumes: vol("u1")},
		{ID: "db_pg.2", AppID: "/db/pg", Host: "10.0.0.168", SlaveID: "agent-S2", LocalVolumes: vol("u2")},
	}
}

func TestTasksAndDetachedVolumes(t *testing.T) {
	f := newFake()
	f.apps["/db/pg"] = renderTestApp(t, nil)
	f.tasks["/db/pg"] = docsTasks()
	c := serve(t, f, ClientConfig{})
	ctx := context.Background()
	tasks, err := c.Tasks(ctx, "db/pg")
	if err != nil || !reflect.DeepEqual(tasks, docsTasks()) {
		t.Fatalf("tasks %+v, %v", tasks, err)
	}
	vols, err := c.DetachedVolumes(ctx, "/db/pg")
	want := []DetachedVolume{{TaskID: "db_pg.2", Host: "10.0.0.168", AgentID: "agent-S2", ContainerPath: "pgdata",
		PersistenceID: "db_pg#pgdata#u2"}}
	if err != nil || !reflect.DeepEqual(vols, want) {
		t.Fatalf("detached %+v, %v", vols, err)
	}
	_, err = c.Tasks(ctx, "/db/nope")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "404 Not Found: App '/db/nope' does not exist") {
		t.Fatalf("want a 404, got %v", err)
	}
}

func TestWipe(t *testing.T) {
	f := newFake()
	f.apps["/db/pg"] = renderTestApp(t, nil)
	f.tasks["/db/pg"] = docsTasks()
	c := serve(t, f, ClientConfig{})
	ctx := context.Background()
	if _, err := c.KillTask(ctx, "/db/pg", "db_pg.2", KillOptions{Wipe: true, Scale: true}); !errors.Is(err, ErrScaleAndWipe) {
		t.Fatalf("want scale+wipe refused, got %v", err)
	}
	task, err := c.WipeTask(ctx, "/db/pg", "db_pg.2")
	if err != nil || task.ID != "db_pg.2" {
		t.Fatalf("wipe: %+v, %v", task, err)
	}
	if _, err := c.WipeTask(ctx, "/db/pg", "db_pg.2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second wipe: want 404, got %v", err)
	}
	wantLog(t, f, "DELETE /v2/apps/db/pg/tasks/db_pg.2?wipe=true", "DELETE /v2/apps/db/pg/tasks/db_pg.2?wipe=true")
}

func TestPods(t *testing.T) {
	f := newFake()
	c := serve(t, f, ClientConfig{})
	ctx := context.Background()
	def := renderTestApp(t, func(s *Spec) { s.Kind = "pod" })
	r, err := c.Deploy(ctx, KindPod, def, DeployOptions{})
	if err != nil || !r.Created || r.DeploymentID != "dep-1" {
		t.Fatalf("create: %+v, %v", r, err)
	}
	f.instances["/db/pg"] = []PodInstance{
		{ID: "db_pg.instance-1", Status: "STABLE", AgentHostname: "10.0.0.1", AgentID: "agent-S1",
			Containers:   []ContainerStatus{{Name: "postgres", Status: "TASK_RUNNING"}},
			LocalVolumes: []LocalVolume{{ContainerPath: "pgdata", PersistenceID: "db_pg#pgdata#u1"}}},
		{ID: "db_pg.instance-2", Status: "PENDING", AgentHostname: "10.0.0.2", AgentID: "agent-S2",
			LocalVolumes: []LocalVolume{{ContainerPath: "pgdata", PersistenceID: "db_pg#pgdata#u2"}}},
	}
	vols, err := c.DetachedPodVolumes(ctx, "/db/pg")
	if err != nil || len(vols) != 1 || vols[0].TaskID != "db_pg.instance-2" || vols[0].AgentID != "agent-S2" {
		t.Fatalf("detached %+v, %v", vols, err)
	}
	in, err := c.WipePodInstance(ctx, "/db/pg", "db_pg.instance-2")
	if err != nil || in.ID != "db_pg.instance-2" {
		t.Fatalf("wipe: %+v, %v", in, err)
	}
	r, err = c.Deploy(ctx, KindPod, renderTestApp(t, func(s *Spec) { s.Kind = "pod"; s.Role = "db" }), DeployOptions{})
	if err != nil || !r.Forced || r.DeploymentID != "dep-2" {
		t.Fatalf("role change: %+v, %v", r, err)
	}
	wantLog(t, f, "GET /v2/pods/db/pg", "GET /v2/info", "POST /v2/pods", "GET /v2/pods/db/pg::status",
		"DELETE /v2/pods/db/pg::instances/db_pg.instance-2?wipe=true", "GET /v2/pods/db/pg", "GET /v2/info",
		"PUT /v2/pods/db/pg?force=true")
}

func TestToken(t *testing.T) {
	f := newFake()
	f.token = "s3cret-token"
	if _, err := serve(t, f, ClientConfig{Token: "s3cret-token"}).MesosRole(context.Background()); err != nil {
		t.Fatalf("with the token: %v", err)
	}
	_, err := serve(t, f, ClientConfig{Token: "wrong-token"}).MesosRole(context.Background())
	if !errors.Is(err, ErrUnauthorized) || strings.Contains(err.Error(), "wrong-token") {
		t.Fatalf("want 401 without the token in the message, got %v", err)
	}
}

func TestCAFile(t *testing.T) {
	f := newFake()
	srv := httptest.NewTLSServer(f)
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(ClientConfig{URL: srv.URL, CAFile: ca})
	if err != nil {
		t.Fatal(err)
	}
	if role, err := c.MesosRole(context.Background()); err != nil || role != "foo" {
		t.Fatalf("with the CA: %q, %v", role, err)
	}
	c, _ = NewClient(ClientConfig{URL: srv.URL})
	if _, err := c.MesosRole(context.Background()); err == nil || !strings.Contains(err.Error(), "cannot reach Marathon") {
		t.Fatalf("without the CA: want a certificate error, got %v", err)
	}
	if _, err := NewClient(ClientConfig{URL: srv.URL, CAFile: filepath.Join(t.TempDir(), "none.pem")}); !errors.Is(err, ErrBadInput) {
		t.Fatalf("missing CA file: %v", err)
	}
}

func TestSlowMarathon(t *testing.T) {
	f := newFake()
	f.delay = 5 * time.Second
	c := serve(t, f, ClientConfig{Timeout: 100 * time.Millisecond})
	start := time.Now()
	_, err := c.Tasks(context.Background(), "/db/pg")
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "did not answer within 100ms") {
		t.Fatalf("want a timeout, got %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("gave up after %s", d)
	}
}

func TestServerErrorWithoutJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte("<html><body>502 Bad Gateway</body></html>"))
	}))
	defer srv.Close()
	c, _ := NewClient(ClientConfig{URL: srv.URL})
	_, err := c.Tasks(context.Background(), "/db/pg")
	if !errors.Is(err, ErrServer) || !strings.Contains(err.Error(), "502 Bad Gateway: <html>") {
		t.Fatalf("want the 502 and its body, got %v", err)
	}
}

func TestNewClientRefuses(t *testing.T) {
	for _, cfg := range []ClientConfig{{URL: ""}, {URL: "marathon:8080"}, {URL: "ftp://m"}, {URL: "http://m", Timeout: -time.Second}} {
		if _, err := NewClient(cfg); !errors.Is(err, ErrBadInput) {
			t.Errorf("%+v: want ErrBadInput, got %v", cfg, err)
		}
	}
}
