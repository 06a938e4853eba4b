package examples

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zkfence/zkfence/marathon"
)

var update = flag.Bool("update", false, "rewrite examples/marathon/*.json from examples/marathon/specs")

// TestMarathonExamplesValidate checks every definition in marathon/ against
// Marathon's rules, as `zkfence marathon validate` does.
func TestMarathonExamplesValidate(t *testing.T) {
	files, err := filepath.Glob("marathon/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("marathon/: %d definitions, want at least a PostgreSQL app, a MySQL app and a pod", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			kind := marathon.KindApp
			var probe map[string]json.RawMessage
			if err := json.Unmarshal(data, &probe); err != nil {
				t.Fatal(err)
			}
			if _, ok := probe["containers"]; ok {
				kind = marathon.KindPod
			}
			// A Marathon with external volumes enabled (the MySQL-on-EBS
			// app needs it; the others do not use it).
			opts := marathon.Options{Rules: marathon.RulesHead, Features: []string{"external_volumes"}}
			if err := marathon.Validate(kind, data, opts); err != nil {
				t.Fatalf("%s is not a valid %s: %v", f, kind, err)
			}
		})
	}
}

// TestMarathonExamplesRendered checks that each definition is what `zkfence
// marathon render --spec marathon/specs/NAME.json` writes today, so that
// the examples follow the renderer. go test ./examples -run Rendered
// -update rewrites them.
func TestMarathonExamplesRendered(t *testing.T) {
	specs, err := filepath.Glob("marathon/specs/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) == 0 {
		t.Fatal("no specs in marathon/specs")
	}
	for _, sf := range specs {
		name := filepath.Base(sf)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(sf)
			if err != nil {
				t.Fatal(err)
			}
			var spec marathon.Spec
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&spec); err != nil {
				t.Fatalf("%s: %v", sf, err)
			}
			out, err := marathon.Render(spec)
			if err != nil {
				t.Fatalf("render %s: %v", sf, err)
			}
			def := filepath.Join("marathon", name)
			if *update {
				if err := os.WriteFile(def, out, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			have, err := os.ReadFile(def)
			if err != nil {
				t.Fatalf("%v (go test ./examples -run Rendered -update writes it)", err)
			}
			if !bytes.Equal(have, out) {
				t.Errorf("%s differs from what %s renders today; go test ./examples -run Rendered -update rewrites it:\n%s",
					def, sf, out)
			}
			checkCommand(t, def, out)
		})
	}
}

// checkCommand checks the settings the examples promise: zkfence as the
// task's command, and a stop grace whose timing budget zkfence accepts with
// its default session timeout (30 s, tickTime 2 s, syncLimit 5): the stop
// grace must stay under about 6.8 s (README, "The timing budget").
func checkCommand(t *testing.T, name string, def []byte) {
	var d struct {
		Cmd        string `json:"cmd"`
		Containers []struct {
			Exec struct {
				Command struct {
					Shell string `json:"shell"`
				} `json:"command"`
			} `json:"exec"`
		} `json:"containers"`
	}
	if err := json.Unmarshal(def, &d); err != nil {
		t.Fatal(err)
	}
	cmd := d.Cmd
	if len(d.Containers) > 0 {
		cmd = d.Containers[0].Exec.Command.Shell
	}
	// fence_aws's fence id is read from EC2 before zkfence starts.
	if i := strings.Index(cmd, "; exec zkfence run "); strings.HasPrefix(cmd, "ZKFENCE_FENCE_ID=") && i > 0 {
		cmd = cmd[i+2:]
	}
	if !strings.HasPrefix(cmd, "exec zkfence run ") {
		t.Errorf("%s: the command %q does not exec zkfence run", name, cmd)
	}
	if !strings.Contains(cmd, "--stop-grace 5s") {
		t.Errorf("%s: the command %q lacks --stop-grace 5s", name, cmd)
	}
}
