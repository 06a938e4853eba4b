package marathon

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var renderVariants = []struct {
	name string
	spec Spec
}{
	{"postgres app, root disk", Spec{ID: "/db/orders", Engine: "postgres", ZK: "zk1:2181,zk2:2181/zkfence",
		MesosRole: "marathon", Volume: VolumeSpec{Size: 10240}}},
	{"postgres app, mount disk with maxSize and path constraint", Spec{ID: "/db/orders", Engine: "postgres", ZK: "zk1:2181",
		MesosRole: "marathon", Volume: VolumeSpec{Type: "mount", Size: 524288, MaxSize: 1048576, PathRegex: "/mnt/ssd-.+"}}},
	{"postgres app, path disk with profile, in a docker image", Spec{ID: "/pg", Engine: "postgres", ZK: "zk1:2181",
		MesosRole: "pg-role", Image: "postgres:15", Volume: VolumeSpec{Type: "path", Size: 2048, ProfileName: "fast", PathRegex: "/data/.*"}}},
	{"mysql app, docker containerizer, hostPath workaround", Spec{ID: "/shop/mysql", Engine: "mysql", ZK: "zk1:2181",
		Image: "mysql:8.0", Containerizer: "DOCKER", MySQLHostPath: true, Volume: VolumeSpec{Size: 1000}}},
	{"mariadb app, role given, constraints, env, fstype", Spec{ID: "/shop/maria", Engine: "mysql", ZK: "zk1:2181",
		Role: "shop", Fstype: "xfs", Env: map[string]string{"TZ": "UTC"}, Constraints: [][]string{{"hostname", "UNIQUE"}},
		User: "mysql", StopGrace: "2m", Volume: VolumeSpec{Size: 1000, Name: "maria"}}},
	{"postgres pod", Spec{Kind: "pod", ID: "/db/pg", Engine: "postgres", ZK: "zk1:2181", MesosRole: "marathon",
		Image: "postgres:15", Volume: VolumeSpec{Type: "mount", Size: 4096, MaxSize: 8192}}},
	{"mysql pod on the agent, with constraints", Spec{Kind: "pod", ID: "/db/my", Engine: "mysql", ZK: "zk1:2181",
		Constraints: [][]string{{"hostname", "LIKE", "db-.*"}}, Volume: VolumeSpec{Size: 1000}}},
}

// TestRenderVariants renders each variant, validates it on its own, and
// checks the parts of it that keep the database safe.
func TestRenderVariants(t *testing.T) {
	for _, tt := range renderVariants {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Render(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			s, eng, _ := tt.spec.withDefaults()
			kind := KindApp
			if s.Kind == "pod" {
				kind = KindPod
			}
			if err := Validate(kind, out, Options{MesosRole: s.MesosRole}); err != nil {
				t.Fatalf("rendered %s is not valid: %v\n%s", kind, err, out)
			}
			if kind == KindApp {
				checkRenderedApp(t, s, eng, out)
			} else {
				checkRenderedPod(t, s, eng, out)
			}
		})
	}
}

func checkRenderedApp(t *testing.T, s Spec, eng engine, out []byte) {
	var a App
	if err := json.Unmarshal(out, &a); err != nil {
		t.Fatal(err)
	}
	if a.UnreachableStrategy == nil || !a.UnreachableStrategy.Disabled {
		t.Error("unreachableStrategy is not disabled")
	}
	if u := a.UpgradeStrategy; u == nil || *u.MinimumHealthCapacity != 0 || *u.MaximumOverCapacity != 0 {
		t.Error("upgradeStrategy is not 0/0")
	}
	if a.Role != s.Role || a.Role == "*" || !reflect.DeepEqual(a.AcceptedResourceRoles, []string{"*"}) {
		t.Errorf("role %q, acceptedResourceRoles %v", a.Role, a.AcceptedResourceRoles)
	}
	hc := a.HealthChecks
	if len(hc) != 1 || hc[0].Protocol != "MESOS_HTTP" || deref(hc[0].PortIndex) != 0 || hc[0].Path != "/healthz" {
		t.Errorf("health check %+v", hc)
	}
	v := a.Container.Volumes[0]
	if deref(v.ContainerPath) != s.Volume.Name || !reflect.DeepEqual(keyOf(v.Persistent, false), keyOf(s.persistentInfo(), false)) {
		t.Errorf("volume %+v, want %s %+v", v, s.Volume.Name, s.persistentInfo())
	}
	if s.MySQLHostPath {
		hv := a.Container.Volumes[1]
		if deref(hv.ContainerPath) != "/var/lib/mysql" || deref(hv.HostPath) != s.Volume.Name {
			t.Errorf("hostPath workaround volume %+v", hv)
		}
	}
	if s.Image != "" && (a.Container.Docker == nil || a.Container.Docker.Image != s.Image) {
		t.Errorf("image: %+v", a.Container.Docker)
	}
	checkCommand(t, s, eng, *a.Cmd, "PORT0")
}

func checkRenderedPod(t *testing.T, s Spec, eng engine, out []byte) {
	var p Pod
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	sc := p.Scheduling
	if sc.UnreachableStrategy == nil || !sc.UnreachableStrategy.Disabled {
		t.Error("unreachableStrategy is not disabled")
	}
	if u := sc.Upgrade; u == nil || *u.MinimumHealthCapacity != 0 || *u.MaximumOverCapacity != 0 {
		t.Error("upgrade is not 0/0")
	}
	if p.Role != s.Role || p.Role == "*" || !reflect.DeepEqual(sc.Placement.AcceptedResourceRoles, []string{"*"}) {
		t.Errorf("role %q, placement %+v", p.Role, sc.Placement)
	}
	c := p.Containers[0]
	if hc := c.HealthCheck; hc == nil || hc.HTTP == nil || hc.HTTP.Endpoint != "zkfence" || hc.HTTP.Path != "/healthz" ||
		c.Endpoints[0].Name != "zkfence" {
		t.Errorf("health check %+v on endpoints %+v", c.HealthCheck, c.Endpoints)
	}
	if !reflect.DeepEqual(keyOf(p.Volumes[0].Persistent, false), keyOf(s.persistentInfo(), false)) || c.VolumeMounts[0].Name != p.Volumes[0].Name {
		t.Errorf("volume %+v mounted as %+v", p.Volumes[0], c.VolumeMounts)
	}
	if len(s.Constraints) != len(sc.Placement.Constraints) {
		t.Errorf("constraints %+v", sc.Placement.Constraints)
	}
	checkCommand(t, s, eng, *c.Exec.Command.Shell, "EP_HOST_ZKFENCE")
}

// checkCommand runs the rendered shell command with a stand-in zkfence that
// prints its arguments, and compares them with the zkfence run contract.
func checkCommand(t *testing.T, s Spec, eng engine, cmd, portVar string) {
	t.Helper()
	dir := t.TempDir()
	fake := filepath.Join(dir, "zkfence")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := exec.Command("/bin/sh", "-c", cmd)
	c.Env = []string{"PATH=" + dir + ":/usr/bin:/bin", "MESOS_SANDBOX=/sandbox", portVar + "=31005"}
	got, err := c.Output()
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	mount := "/sandbox/" + s.Volume.Name
	if s.MySQLHostPath {
		mount = "/var/lib/mysql"
	}
	want := []string{"run", "--zk", s.ZK, "--lock", s.Lock, "--mount", mount}
	if s.Fstype != "" {
		want = append(want, "--fstype", s.Fstype)
	}
	want = append(want, "--data-dir", mount+"/data", "--engine", s.Engine, "--http", "0.0.0.0:31005",
		"--user", s.User, "--stop-signal", s.StopSignal, "--stop-grace", s.StopGrace, "--")
	want = append(want, strings.Fields(eng.command(mount+"/data"))...)
	if g := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n"); !reflect.DeepEqual(g, want) {
		t.Errorf("zkfence got\n%q\nwant\n%q", g, want)
	}
}

func TestRenderRefuses(t *testing.T) {
	base := Spec{ID: "/db/pg", Engine: "postgres", ZK: "zk:2181", Volume: VolumeSpec{Size: 100}}
	for _, tt := range []struct {
		name string
		edit func(*Spec)
		want string
	}{
		{"engine", func(s *Spec) { s.Engine = "oracle" }, "engine"},
		{"kind", func(s *Spec) { s.Kind = "group" }, "kind"},
		{"no zk", func(s *Spec) { s.ZK = "" }, "ZooKeeper"},
		{"no size", func(s *Spec) { s.Volume.Size = 0 }, "size"},
		{"role *", func(s *Spec) { s.ID = "/pg" }, `role other than "*"`},
		{"constraint on root", func(s *Spec) { s.Volume.PathRegex = "/mnt/.*" }, "Constraints on root volumes are not supported"},
		{"maxSize on path", func(s *Spec) { s.Volume.Type = "path"; s.Volume.MaxSize = 200 }, "Only mount volumes can have maxSize"},
		{"bad regex", func(s *Spec) { s.Volume.Type = "path"; s.Volume.PathRegex = "(" }, "Invalid regular expression"},
		{"disk type", func(s *Spec) { s.Volume.Type = "ssd" }, "volume type"},
		{"volume name", func(s *Spec) { s.Volume.Name = "a/b" }, "volume name"},
		{"hostPath without image", func(s *Spec) { s.Engine = "mysql"; s.MySQLHostPath = true }, "hostPath"},
		{"docker pod", func(s *Spec) { s.Kind = "pod"; s.Image = "x"; s.Containerizer = "DOCKER" }, "DOCKER"},
		{"grace", func(s *Spec) { s.StopGrace = "soon" }, "stop grace"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := base
			tt.edit(&s)
			_, err := Render(s)
			if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want ErrBadInput about %q, got %v", tt.want, err)
			}
		})
	}
}

// TestRenderInvalidConstraint: what Render cannot check itself, Validate does.
func TestRenderInvalidConstraint(t *testing.T) {
	s := Spec{ID: "/db/pg", Engine: "postgres", ZK: "zk:2181", Volume: VolumeSpec{Size: 100},
		Constraints: [][]string{{"hostname", "MAX_PER"}}}
	_, err := Render(s)
	var ve *ValidationError
	if !errors.As(err, &ve) || !ve.Has("/constraints(0)", "Value was not specified or is not a number") {
		t.Fatalf("want the constraint refused, got %v", err)
	}
}
