package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zkfence/zkfence/exitcode"
	"github.com/zkfence/zkfence/marathon"
)

// TestMarathonRenderExternal: render --volume-type external writes a
// valid app (for a Marathon with external_volumes) whose command fences
// with fence_aws; a credential given in clear is refused.
func TestMarathonRenderExternal(t *testing.T) {
	app := filepath.Join(t.TempDir(), "app.json")
	_, errOut, code := runMarathon(t, "", "render", "--id", "/db/orders", "--engine", "mysql", "--zk", "zk1:2181",
		"--image", "mysql:8.0", "--mysql-hostpath", "--volume-type", "external", "--volume-name", "orders-mysql",
		"--volume-size", "20480", "--volume-option", "volumetype=gp3", "--fence-option", "region=us-east-1",
		"--fence-option", "secret_key=env:AWS_SECRET_ACCESS_KEY", "--fence-timeout", "3m", "--output", app)
	if code != 0 {
		t.Fatalf("render: %d %s", code, errOut)
	}
	b, _ := os.ReadFile(app)
	var a marathon.App
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	ext := a.Container.Volumes[0].External
	if ext == nil || *ext.Name != "orders-mysql" || *ext.Size != 20 || ext.Options["dvdi/volumetype"] != "gp3" {
		t.Fatalf("volume: %s", b)
	}
	for _, want := range []string{"--mount \"/var/lib/mysql\" --fstype ext4", "--fence-agent fence_aws",
		"--fence-option region=us-east-1", "--fence-option secret_key=env:AWS_SECRET_ACCESS_KEY",
		`--fence-id "$ZKFENCE_FENCE_ID"`, "--fence-timeout 3m", "--fence-required --"} {
		if !strings.Contains(*a.Cmd, want) {
			t.Errorf("cmd lacks %q: %s", want, *a.Cmd)
		}
	}
	if out, errOut, code := runMarathon(t, "", "validate", "--enable-features", "external_volumes", app); code != 0 {
		t.Fatalf("validate with the feature: %d %s %s", code, out, errOut)
	}
	if out, _, code := runMarathon(t, "", "validate", app); code != exitcode.RefusedConfig ||
		!strings.Contains(out, "Feature external_volumes is not enabled") {
		t.Fatalf("validate without the feature: %d %s", code, out)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--fence-option", "secret_key=AKIAsecret"}, "never in the app definition"},
		{[]string{"--volume-name", ""}, "needs a name"},
		{[]string{"--volume-option", "novalue"}, "want KEY=VALUE"},
	} {
		args := append([]string{"render", "--id", "/db/orders", "--engine", "mysql", "--zk", "zk1:2181",
			"--volume-type", "external", "--volume-name", "v1"}, tt.args...)
		if _, errOut, code := runMarathon(t, "", args...); code != exitcode.RefusedConfig || !strings.Contains(errOut, tt.want) ||
			strings.Contains(errOut, "AKIAsecret") {
			t.Errorf("%v: want exit 78 about %q, got %d %s", tt.args, tt.want, code, errOut)
		}
	}
}

// TestMarathonExternalVolumeCommands: tasks shows the app's external
// volumes, volumes says why it lists none, and wipe says the external
// volume is not destroyed.
func TestMarathonExternalVolumeCommands(t *testing.T) {
	def, err := marathon.Render(marathon.Spec{ID: "/db/pg", Engine: "postgres", ZK: "zk:2181",
		Volume: marathon.VolumeSpec{Type: "external", Name: "orders-pg", Size: 10240}})
	if err != nil {
		t.Fatal(err)
	}
	m := &miniMarathon{app: def, tasks: []marathon.Task{
		{ID: "db_pg.1", AppID: "/db/pg", Host: "10.0.0.1", SlaveID: "S1", State: "TASK_RUNNING", StartedAt: "2024-05-01T10:00:05.000Z"},
		{ID: "db_pg.2", AppID: "/db/pg", Host: "10.0.0.2", SlaveID: "S2", State: "TASK_KILLED"},
	}}
	srv := httptest.NewServer(m)
	defer srv.Close()
	t.Setenv("ZKFENCE_MARATHON_URL", srv.URL)
	steps := []struct {
		stdin, want string
		code        int
		args        []string
	}{
		{"", "db_pg.1  10.0.0.1  S1     TASK_RUNNING  2024-05-01T10:00:05.000Z  dvdi/rexray:orders-pg", 0, []string{"tasks", "/db/pg"}},
		{"", `"externalVolumes": [`, 0, []string{"tasks", "--json", "/db/pg"}},
		{"", "app /db/pg has external volumes (dvdi/rexray:orders-pg): they are not listed here", 0, []string{"volumes", "/db/pg"}},
		{"", "wipe does not delete them", 0, []string{"volumes", "--json", "/db/pg"}},
		{"no\n", "Its external volumes (dvdi/rexray:orders-pg) are NOT destroyed", exitcode.RefusedConfig,
			[]string{"wipe", "/db/pg", "db_pg.2"}},
	}
	for _, s := range steps {
		out, errOut, code := runMarathon(t, s.stdin, s.args...)
		if code != s.code || !strings.Contains(out+errOut, s.want) {
			t.Fatalf("%v: want exit %d and %q, got %d\n%s\n%s", s.args, s.code, s.want, code, out, errOut)
		}
		if strings.Contains(out+errOut, "local volumes are destroyed and their reservation released") {
			t.Fatalf("%v: says a local reservation is released for an external volume:\n%s", s.args, out+errOut)
		}
	}
	out, _, _ := runMarathon(t, "", "volumes", "--json", "/db/pg")
	if strings.TrimSpace(out) != "[]" {
		t.Fatalf("volumes --json lists %s, want []", out)
	}
}

func TestMarathonConformanceExternalCorpus(t *testing.T) {
	out, errOut, code := runMarathon(t, "", "conformance", "--corpus", "../../marathon/testdata/corpus-external")
	if code != 0 || !strings.Contains(out, "all       52      52") {
		t.Fatalf("%d\n%s\n%s", code, out, errOut)
	}
}
