package marathon

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sameJSON reports whether a and b hold the same JSON value.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

// TestRoundTripCorpus reads every app and pod of the corpus into the types
// and writes it back: nothing may change, modelled or not.
func TestRoundTripCorpus(t *testing.T) {
	n := 0
	for _, c := range loadCorpus(t) {
		if c.Kind != KindApp && c.Kind != KindPod || strings.HasPrefix(c.File, "invalid/appsresource-broken") {
			continue
		}
		n++
		t.Run(filepath.Base(c.File), func(t *testing.T) {
			in := corpusFile(t, c.File)
			var v any = &App{}
			if c.Kind == KindPod {
				v = &Pod{}
			}
			if err := json.Unmarshal(in, v); err != nil {
				t.Fatal(err)
			}
			out, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if !sameJSON(t, in, out) {
				t.Fatalf("round trip changed the definition:\nin  %s\nout %s", in, out)
			}
		})
	}
	if n < 25 {
		t.Fatalf("only %d apps and pods in the corpus", n)
	}
}

// TestUnknownFieldsSurviveAnEdit changes modelled members at every level
// and checks that the members zkfence does not model are still there.
func TestUnknownFieldsSurviveAnEdit(t *testing.T) {
	in := []byte(`{
	  "id": "/db/pg", "cmd": "x", "fetch": [{"uri": "https://example.com/zkfence"}],
	  "container": {"type": "DOCKER", "docker": {"image": "pg:15", "parameters": [{"key": "shm-size", "value": "1g"}]},
	    "volumes": [{"containerPath": "pgdata", "mode": "RW", "persistent": {"size": 10, "future": true}}]},
	  "upgradeStrategy": {"minimumHealthCapacity": 0, "maximumOverCapacity": 0},
	  "unreachableStrategy": "disabled",
	  "env": {"PGPASS": {"secret": "pg-pass"}, "TZ": "UTC"}
	}`)
	var a App
	if err := json.Unmarshal(in, &a); err != nil {
		t.Fatal(err)
	}
	a.Container.Docker.Image = "pg:16"
	a.Container.Volumes[0].Persistent.Size = 20
	a.CPUs = Float(2)
	out, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{}
	if err := json.Unmarshal(in, &want); err != nil {
		t.Fatal(err)
	}
	ctr := want["container"].(map[string]any)
	ctr["docker"].(map[string]any)["image"] = "pg:16"
	ctr["volumes"].([]any)[0].(map[string]any)["persistent"].(map[string]any)["size"] = 20.0
	want["cpus"] = 2.0
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %s\nwant %v", out, want)
	}
}

func TestDecodeErrorsAreCollected(t *testing.T) {
	var a App
	err := json.Unmarshal([]byte(`{"id": 5, "instances": "one", "container": {"volumes": [{}, {"containerPath": 3, "persistent": {}}]}}`), &a)
	got := map[string]bool{}
	for _, e := range asDecodeErrors(err) {
		got[e.Path+" "+strings.SplitN(e.Msg, ":", 2)[0]] = true
	}
	for _, want := range []string{
		"/id error.expected.jsstring",
		"/instances error.expected.jsnumber",
		"/container/volumes(0)/containerPath 'containerPath' is undefined on object",
		"/container/volumes(0)/hostPath 'hostPath' is undefined on object",
		"/container/volumes(1)/containerPath error.expected.jsstring",
		"/container/volumes(1)/persistent/size 'size' is undefined on object",
	} {
		if !got[want] {
			t.Errorf("missing %q in %v", want, got)
		}
	}
	if len(got) != 6 {
		t.Errorf("want 6 errors, got %v", got)
	}
}
