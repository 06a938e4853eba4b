package marathon

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// residentApp is a valid resident app for Marathon with --mesos_role foo.
const residentApp = `{
  "id": "/db/pg", "cmd": "sleep 1000", "role": "foo",
  "container": {"type": "MESOS", "volumes": [
    {"containerPath": "pgdata", "mode": "RW", "persistent": {"type": "mount", "size": 1024, "maxSize": 2048}}]},
  "upgradeStrategy": {"minimumHealthCapacity": 0, "maximumOverCapacity": 0},
  "unreachableStrategy": "disabled"
}`

// residentPod is a valid resident pod for Marathon with --mesos_role foo.
const residentPod = `{
  "id": "/db/pg", "role": "foo",
  "containers": [{"name": "pg", "resources": {"cpus": 1, "mem": 512},
    "endpoints": [{"name": "zkfence", "hostPort": 0}],
    "healthCheck": {"http": {"endpoint": "zkfence", "path": "/healthz"}, "intervalSeconds": 10, "timeoutSeconds": 5},
    "volumeMounts": [{"name": "data", "mountPath": "data"}]}],
  "volumes": [{"name": "data", "persistent": {"size": 1024}}],
  "scheduling": {"upgrade": {"minimumHealthCapacity": 0, "maximumOverCapacity": 0}, "unreachableStrategy": "disabled"}
}`

var foo = Options{MesosRole: "foo"}

// edit replaces old by new in doc, and fails the test when old is not there.
func edit(t *testing.T, doc, old, new string) []byte {
	t.Helper()
	if !strings.Contains(doc, old) {
		t.Fatalf("fixture has no %q", old)
	}
	return []byte(strings.Replace(doc, old, new, 1))
}

func TestValidateRules(t *testing.T) {
	tests := []struct {
		name      string
		kind      Kind
		doc       []byte
		opts      Options
		path, msg string // "" msg: valid
	}{
		{"resident app", KindApp, []byte(residentApp), foo, "", ""},
		{"resident pod", KindPod, []byte(residentPod), foo, "", ""},
		{"app role * with the default mesos role", KindApp, edit(t, residentApp, `"role": "foo",`, ``), Options{},
			"/role", "Resident apps cannot have the role *"},
		{"app role * is fine without role enforcement", KindApp, edit(t, residentApp, `"role": "foo"`, `"role": "*"`),
			Options{Rules: RulesSchema}, "", ""},
		{"app in a group may use the group's name", KindApp, edit(t, residentApp, `"role": "foo"`, `"role": "db"`), foo, "", ""},
		{"app role neither mesos role nor group", KindApp, edit(t, residentApp, `"role": "foo"`, `"role": "bar"`), foo,
			"/role", "got bar, expected one of: [db, foo]"},
		{"enforced group role", KindApp, []byte(residentApp), Options{MesosRole: "foo", EnforceGroupRole: true},
			"/role", "got foo, expected one of: [db]"},
		{"role change needs force", KindApp, []byte(residentApp), Options{MesosRole: "foo", PreviousRole: "db"},
			"/role", "It is not possible to change the role for existing reservations"},
		{"role change with force", KindApp, []byte(residentApp), Options{MesosRole: "foo", PreviousRole: "db", Force: true}, "", ""},
		{"pod role change with force", KindPod, []byte(residentPod), Options{MesosRole: "foo", PreviousRole: "*", Force: true}, "", ""},
		{"root-level service: Marathon has no previous role", KindApp, edit(t, residentApp, `"/db/pg"`, `"/pg"`),
			Options{MesosRole: "foo", PreviousRole: "bar"}, "", ""},
		{"accepted role of another role", KindApp, edit(t, residentApp, `"role": "foo",`, `"role": "foo", "acceptedResourceRoles": ["bar"],`), foo,
			"/acceptedResourceRoles", "A resident app must have `acceptedResourceRoles = [\"*\"]`."},
		{"empty accepted roles", KindApp, edit(t, residentApp, `"role": "foo",`, `"role": "foo", "acceptedResourceRoles": [],`), foo,
			"/acceptedResourceRoles", "must not be empty"},
		{"resident app over capacity", KindApp, edit(t, residentApp, `"maximumOverCapacity": 0}`, `"maximumOverCapacity": 0.5}`), foo,
			"/upgradeStrategy/maximumOverCapacity", "got 0.5, expected 0.0"},
		{"resident app without upgradeStrategy gets 0.5/0", KindApp,
			edit(t, residentApp, `"upgradeStrategy": {"minimumHealthCapacity": 0, "maximumOverCapacity": 0},`, ``), foo, "", ""},
		{"upgradeStrategy member left out is 1.0", KindApp,
			edit(t, residentApp, `"minimumHealthCapacity": 0, "maximumOverCapacity": 0`, `"minimumHealthCapacity": 0`), foo,
			"/upgradeStrategy/maximumOverCapacity", "got 1.0, expected 0.0"},
		{"resident app unreachable enabled", KindApp, edit(t, residentApp, `"unreachableStrategy": "disabled"`,
			`"unreachableStrategy": {"inactiveAfterSeconds": 60, "expungeAfterSeconds": 120}`), foo,
			"/", "unreachableStrategy must be disabled for resident tasks"},
		{"unknown unreachable literal", KindApp, edit(t, residentApp, `"disabled"`, `"off"`), foo,
			"/unreachableStrategy", `error.unknown.enum.literal: "off"`},
		{"maxSize not above size", KindApp, edit(t, residentApp, `"maxSize": 2048`, `"maxSize": 1024`), foo,
			"/container/volumes(0)/persistent", "Max size must be larger than size"},
		{"volume constraint operator", KindApp, edit(t, residentApp, `"maxSize": 2048`, `"constraints": [["path", "CLUSTER", "x"]]`), foo,
			"/container/volumes(0)/persistent/constraints(0)", "Operator must be one of LIKE, UNLIKE"},
		{"app constraint", KindApp, edit(t, residentApp, `"role": "foo",`, `"role": "foo", "constraints": [["hostname", "MAX_PER", "x"]],`), foo,
			"/constraints(0)", "Value was not specified or is not a number"},
		{"wrong type", KindApp, edit(t, residentApp, `"sleep 1000"`, `"sleep 1000", "cpus": "two"`), foo,
			"/cpus", "error.expected.jsnumber"},
		{"wrong type deep down", KindApp, edit(t, residentApp, `"size": 1024`, `"size": "big"`), foo,
			"/container/volumes(0)/persistent/size", "error.expected.jsnumber"},
		{"missing size", KindApp, edit(t, residentApp, `"size": 1024, `, ``), foo,
			"/container/volumes(0)/persistent/size", "'size' is undefined on object"},
		{"missing id", KindApp, edit(t, residentApp, `"id": "/db/pg",`, ``), foo, "/id", "'id' is undefined on object"},
		{"bad id", KindApp, edit(t, residentApp, `"/db/pg"`, `"/db/PG"`), foo, "/id", "must fully match regular expression"},
		{"no cmd, args or container", KindApp, []byte(`{"id": "/a"}`), foo,
			"/", "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."},
		{"docker without docker member", KindApp, []byte(`{"id": "/a", "cmd": "x y", "container": {"type": "DOCKER"}}`), foo,
			"/container/docker", "not defined"},
		{"port mappings on host networking", KindApp,
			[]byte(`{"id": "/a", "cmd": "xy", "container": {"type": "MESOS", "portMappings": [{"containerPort": 80}]}}`), foo,
			"/", "portMappings are not allowed with host-networking"},
		{"health check port index", KindApp, edit(t, residentApp, `"role": "foo",`,
			`"role": "foo", "healthChecks": [{"protocol": "MESOS_HTTP", "portIndex": 1}],`), foo,
			"/healthChecks(0)", "Health check port indices must address an element"},
		{"deprecated docker network and networks", KindApp,
			[]byte(`{"id": "/a", "cmd": "xy", "networks": [{"mode": "host"}], "container": {"type": "DOCKER", "docker": {"image": "x", "network": "HOST"}}}`),
			foo, "/", "must not specify both container.docker.network and networks"},
		{"pod volume not mounted", KindPod, edit(t, residentPod, `"volumes": [`, `"volumes": [{"name": "spare"}, `), foo,
			"/volumes(0)", "volume must be referenced by at least one container"},
		{"pod mount of no volume", KindPod, edit(t, residentPod, `"mountPath": "data"`, `"mountPath": "data"}, {"name": "other", "mountPath": "o"`), foo,
			"/containers(0)/volumeMounts(1)/name", "Referenced Volume in VolumeMount should exist"},
		{"pod health check endpoint", KindPod, edit(t, residentPod, `{"endpoint": "zkfence"`, `{"endpoint": "admin"`), foo,
			"/containers(0)/healthCheck/http/endpoint", "contained in the container endpoints"},
		{"pod health check timeout", KindPod, edit(t, residentPod, `"timeoutSeconds": 5`, `"timeoutSeconds": 10`), foo,
			"/containers(0)/healthCheck/timeoutSeconds", "got 10, expected less than 10"},
		{"pod containerPort on host networking", KindPod, edit(t, residentPod, `"hostPort": 0`, `"hostPort": 0, "containerPort": 80`), foo,
			"/containers(0)/endpoints(0)/containerPort", "is not allowed when using host-mode networking"},
		{"pod upgrade bounds", KindPod, edit(t, residentPod, `"minimumHealthCapacity": 0,`, `"minimumHealthCapacity": 2,`), foo,
			"/scheduling/upgrade/minimumHealthCapacity", "got 2.0, expected 1.0 or less"},
		{"pod without upgrade normalizes to 0.5/0", KindPod,
			edit(t, residentPod, `"upgrade": {"minimumHealthCapacity": 0, "maximumOverCapacity": 0}, `, ``), foo, "", ""},
		{"pod with empty upgrade gets 1/1", KindPod,
			edit(t, residentPod, `{"minimumHealthCapacity": 0, "maximumOverCapacity": 0}`, `{}`), foo,
			"/upgrade/maximumOverCapacity", "got 1.0, expected 0.0"},
		{"pod accepted roles", KindPod, edit(t, residentPod, `"unreachableStrategy": "disabled"`,
			`"unreachableStrategy": "disabled", "placement": {"acceptedResourceRoles": ["foo"]}`), foo,
			"/acceptedResourceRoles", "A resident pod must have `acceptedResourceRoles = [\"*\"]`."},
		{"pod without containers", KindPod, []byte(`{"id": "/p", "containers": []}`), foo, "/containers", "must not be empty"},
		{"legacy rule is gone at head", KindApp, corpusFile(t, "invalid/legacy-v1.1-residency-without-persistent-volumes.json"), foo, "", ""},
		{"volume fragment", KindVolume, []byte(`{"containerPath": "d", "persistent": {"size": 1, "type": "path", "maxSize": 2}}`), Options{},
			"/container/volumes(0)/persistent", "Only mount volumes can have maxSize"},
		{"container fragment without volumes", KindContainer, []byte(`{"type": "DOCKER", "docker": {"image": "x"}}`), Options{}, "", ""},
		{"update of a resident app: mem", KindAppUpdate,
			[]byte(`{"from": ` + residentApp + `, "to": ` + strings.Replace(residentApp, `"role"`, `"mem": 256, "role"`, 1) + `}`), foo,
			"/mem", msgAppResourcesChanged},
		{"update of a resident app: volume added", KindAppUpdate,
			[]byte(`{"from": ` + residentApp + `, "to": ` + strings.Replace(residentApp, `"volumes": [`,
				`"volumes": [{"containerPath": "wal", "mode": "RW", "persistent": {"size": 10}}, `, 1) + `}`), foo,
			"/", msgAppVolumesChanged},
		{"update of a resident app: cmd only", KindAppUpdate,
			[]byte(`{"from": ` + residentApp + `, "to": ` + strings.Replace(residentApp, "sleep 1000", "sleep 2000", 1) + `}`), foo, "", ""},
		{"update of a plain app may change resources", KindAppUpdate,
			[]byte(`{"from": {"id": "/a", "cmd": "xy"}, "to": {"id": "/a", "cmd": "xy", "cpus": 4}}`), foo, "", ""},
		{"update of a resident pod: host port", KindPodUpdate,
			[]byte(`{"from": ` + residentPod + `, "to": ` + strings.Replace(residentPod, `"hostPort": 0`, `"hostPort": 5432`, 1) + `}`), foo,
			"/", msgPodHostPortsChanged},
		{"update of a resident pod: gpus", KindPodUpdate,
			[]byte(`{"from": ` + residentPod + `, "to": ` + strings.Replace(residentPod, `"mem": 512`, `"mem": 512, "gpus": 1`, 1) + `}`), foo,
			"/", "gpus cannot be updated if a pod has persistent volumes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.kind, tt.doc, tt.opts)
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want a ValidationError, got %v", err)
			}
			if !ve.Has(tt.path, tt.msg) {
				t.Fatalf("want %q at %s, got\n%s", tt.msg, tt.path, ve.JSON())
			}
		})
	}
}

func TestValidateBadInput(t *testing.T) {
	for _, tt := range []struct {
		name string
		kind Kind
		doc  string
		opts Options
	}{
		{"not JSON", KindApp, `{"id": `, Options{}},
		{"unknown kind", Kind("group"), `{}`, Options{}},
		{"update without to", KindAppUpdate, `{"from": {}}`, Options{}},
		{"unknown rule set", KindApp, `{}`, Options{Rules: "1.4"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.kind, []byte(tt.doc), tt.opts)
			if !errors.Is(err, ErrBadInput) {
				t.Fatalf("want ErrBadInput, got %v", err)
			}
		})
	}
}

func TestValidationErrorShape(t *testing.T) {
	err := Validate(KindApp, edit(t, residentApp, `"sleep 1000"`, `"sleep 1000", "cpus": "two", "mem": "lots"`), foo)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a ValidationError, got %v", err)
	}
	want := `{
  "message": "Invalid JSON",
  "details": [
    {
      "path": "/cpus",
      "errors": [
        "error.expected.jsnumber"
      ]
    },
    {
      "path": "/mem",
      "errors": [
        "error.expected.jsnumber"
      ]
    }
  ]
}`
	if got := string(ve.JSON()); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestValidateUpdateUsesCurrentRole(t *testing.T) {
	from := edit(t, residentApp, `"role": "foo"`, `"role": "db"`)
	err := ValidateUpdate(KindApp, from, []byte(residentApp), foo)
	var ve *ValidationError
	if !errors.As(err, &ve) || !ve.Has("/role", "previous role, db. Only new instances will be allocated with the new role, foo.") {
		t.Fatalf("want the role change refused, got %v", err)
	}
	if err := ValidateUpdate(KindApp, from, []byte(residentApp), Options{MesosRole: "foo", Force: true}); err != nil {
		t.Fatalf("with force: %v", err)
	}
	grown := edit(t, residentApp, `"size": 1024`, `"size": 4096`)
	err = ValidateUpdate(KindApp, []byte(residentApp), grown, foo)
	if !errors.As(err, &ve) || !ve.Has("/", msgAppVolumesChanged) {
		t.Fatalf("want the volume change refused, got %v", err)
	}
}

func TestJavaDouble(t *testing.T) {
	for f, want := range map[float64]string{0: "0.0", 1: "1.0", 0.1: "0.1", 0.5: "0.5", -1: "-1.0", 1e-4: "1.0E-4",
		1.5e7: "1.5E7", 123.25: "123.25", 1e7: "1.0E7"} {
		if got := jdouble(f); got != want {
			t.Errorf("jdouble(%v) = %s, want %s", f, got, want)
		}
	}
}

func corpusFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, name))
	if err != nil {
		t.Fatalf("corpus: %v", err)
	}
	return b
}
