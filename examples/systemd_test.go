package examples

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const unitFile = "systemd/zkfence-postgres.service"

// unitSettings parses a systemd unit: section -> key -> values, in order.
func unitSettings(t *testing.T, path string) map[string]map[string][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	units := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	var cont string
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if cont != "" {
			line, cont = cont+" "+line, ""
		}
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
			continue
		case strings.HasSuffix(line, `\`):
			cont = strings.TrimSuffix(line, `\`)
			continue
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			units[section] = map[string][]string{}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			t.Fatalf("%s:%d: not a key=value line in a section: %q", path, n, line)
		}
		units[section][strings.TrimSpace(k)] = append(units[section][strings.TrimSpace(k)], strings.TrimSpace(v))
	}
	return units
}

// TestSystemdUnit checks what the unit must say for zkfence to stop the
// database in order and queue for the lock again.
func TestSystemdUnit(t *testing.T) {
	u := unitSettings(t, unitFile)
	svc := u["Service"]
	want := map[string]string{
		"KillMode":                 "mixed",
		"KillSignal":               "SIGTERM",
		"Restart":                  "always",
		"TimeoutStopSec":           "30",
		"RestartPreventExitStatus": "78",
	}
	for k, v := range want {
		if got := svc[k]; len(got) != 1 || got[0] != v {
			t.Errorf("[Service] %s = %v, want %s", k, got, v)
		}
	}
	if exec := svc["ExecStart"]; len(exec) != 1 || !strings.HasPrefix(exec[0], "/usr/local/bin/zkfence run -- ") {
		t.Errorf("[Service] ExecStart = %v, want /usr/local/bin/zkfence run -- ...", exec)
	}
	env := strings.Join(svc["Environment"], " ")
	for _, v := range []string{"ZKFENCE_USER=postgres", "ZKFENCE_SIGNAL_MAP=TERM:INT", "ZKFENCE_STOP_SIGNAL=INT"} {
		if !strings.Contains(env, v) {
			t.Errorf("[Service] Environment lacks %s", v)
		}
	}
	if got := u["Install"]["WantedBy"]; len(got) != 1 || got[0] != "multi-user.target" {
		t.Errorf("[Install] WantedBy = %v", got)
	}
	// The environment file example sets what zkfence run needs.
	data, err := os.ReadFile("systemd/zkfence-postgres.env")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ZKFENCE_ZK=", "ZKFENCE_LOCK=", "PGDATA="} {
		if !bytes.Contains(data, []byte("\n"+k)) {
			t.Errorf("zkfence-postgres.env does not set %s", k)
		}
	}
}

// TestSystemdUnitVerify runs systemd-analyze verify on the unit, in a root
// directory with the host's unit files and stand-ins for the two programs
// it starts (verify checks that they exist), and fails on any complaint.
func TestSystemdUnitVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed; TestSystemdUnit checks the unit's settings")
	}
	root := t.TempDir()
	stub := []byte("#!/bin/sh\n")
	for _, f := range []string{"usr/local/bin/zkfence", "usr/lib/postgresql/15/bin/postgres"} {
		write(t, filepath.Join(root, f), stub, 0o755)
	}
	env, err := os.ReadFile("systemd/zkfence-postgres.env")
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(root, "etc/default/zkfence-postgres"), env, 0o644)
	unit, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(root, "etc/systemd/system/zkfence-postgres.service"), unit, 0o644)
	for _, dir := range []string{"/usr/lib/systemd/system", "/lib/systemd/system"} {
		if entries, err := os.ReadDir(dir); err == nil {
			for _, e := range entries {
				if strings.HasSuffix(e.Name(), ".target") || e.Name() == "postgresql.service" {
					if data, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
						write(t, filepath.Join(root, "usr/lib/systemd/system", e.Name()), data, 0o644)
					}
				}
			}
			break
		}
	}
	out, err := exec.Command(analyze, "verify", "--man=no", "--root="+root, "zkfence-postgres.service").CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func write(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
}
