package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/zkfence/zkfence/exitcode"
	"github.com/zkfence/zkfence/fenceagent"
)

// parseFenceAgentFlags runs fenceAgentFromFlags on args, as `zkfence run`
// would.
func parseFenceAgentFlags(t *testing.T, args ...string) (*fenceagent.Agent, string, bool, error) {
	t.Helper()
	var a *fenceagent.Agent
	var id string
	var required bool
	var ferr error
	app := &cli.App{Writer: io.Discard, ErrWriter: io.Discard, ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{{Name: "run", Flags: fenceAgentFlags(), Action: func(c *cli.Context) error {
			a, id, required, ferr = fenceAgentFromFlags(c)
			return nil
		}}}}
	if err := app.Run(append([]string{"zkfence", "run"}, args...)); err != nil {
		return nil, "", false, err
	}
	return a, id, required, ferr
}

// fakeAgentFile is an executable file named fence_fake in a directory of
// its own, and that directory.
func fakeAgentFile(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "fence_fake")
	if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p, dir
}

func TestFenceAgentFlags(t *testing.T) {
	agent, _ := fakeAgentFile(t)
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_SECRET", "s3")
	a, id, required, err := parseFenceAgentFlags(t, "--fence-agent", agent,
		"--fence-option", "ip=10.0.0.5", "--fence-option", "password=@"+pw,
		"--fence-option", "secret-key=env:AWS_SECRET", "--fence-option", "login=raw:@admin",
		"--fence-id", "db-node-2", "--fence-timeout", "20s", "--fence-required", "--fence-plug-param", "port")
	if err != nil {
		t.Fatal(err)
	}
	want := []fenceagent.Option{{Name: "ip", Ref: "10.0.0.5"}, {Name: "password", Source: fenceagent.File, Ref: pw},
		{Name: "secret-key", Source: fenceagent.Env, Ref: "AWS_SECRET"}, {Name: "login", Ref: "@admin"}}
	if a.Path != agent || a.Timeout != 20*time.Second || a.PlugParam != "port" || len(a.Options) != len(want) {
		t.Fatalf("agent %+v", a)
	}
	for i := range want {
		if a.Options[i] != want[i] {
			t.Fatalf("option %d = %+v, want %+v", i, a.Options[i], want[i])
		}
	}
	if id != "db-node-2" || !required {
		t.Fatalf("id %q required %v", id, required)
	}
}

func TestFenceAgentFlagsFromEnvironment(t *testing.T) {
	agent, dir := fakeAgentFile(t)
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	t.Setenv("ZKFENCE_FENCE_AGENT", "fence_fake")
	// One option per line: a value may hold commas.
	t.Setenv("ZKFENCE_FENCE_OPTION", "ip=10.0.0.5\nplug_separator=,\r\n\nssl_insecure=1\n")
	t.Setenv("ZKFENCE_FENCE_ID", "node-a")
	t.Setenv("ZKFENCE_FENCE_TIMEOUT", "90s")
	t.Setenv("ZKFENCE_FENCE_REQUIRED", "true")
	a, id, required, err := parseFenceAgentFlags(t, "--fence-option", "api_version=1.41")
	if err != nil {
		t.Fatal(err)
	}
	if a.Path != agent || a.Timeout != 90*time.Second || id != "node-a" || !required || a.PlugParam != "plug" {
		t.Fatalf("agent %+v id %q required %v", a, id, required)
	}
	var got []string
	for _, o := range a.Options {
		got = append(got, o.Name+"="+o.Ref)
	}
	if strings.Join(got, " ") != "ip=10.0.0.5 plug_separator=, ssl_insecure=1 api_version=1.41" {
		t.Fatalf("options %q", got)
	}
}

func TestFenceAgentFlagsDefaults(t *testing.T) {
	a, id, required, err := parseFenceAgentFlags(t)
	if err != nil || a != nil || required {
		t.Fatalf("no agent: %v %v %v", a, required, err)
	}
	want, _, _ := fenceagent.SelfID()
	if id == "" || id != want {
		t.Fatalf("default fence id %q, want SelfID %q", id, want)
	}
	agent, _ := fakeAgentFile(t)
	a, _, _, err = parseFenceAgentFlags(t, "--fence-agent", agent)
	if err != nil || a.Timeout != fenceagent.DefaultTimeout || len(a.Options) != 0 {
		t.Fatalf("agent %+v, %v", a, err)
	}
}

func TestFenceAgentFlagsRefused(t *testing.T) {
	agent, _ := fakeAgentFile(t)
	notExec := filepath.Join(t.TempDir(), "fence_x")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		why  string
	}{
		{"option without agent", []string{"--fence-option", "ip=x"}, "--fence-option needs --fence-agent"},
		{"required without agent", []string{"--fence-required"}, "--fence-required needs --fence-agent"},
		{"missing agent", []string{"--fence-agent", "/nonexistent/fence_x"}, "no such file"},
		{"agent not in PATH", []string{"--fence-agent", "fence_zkfence_nonexistent"}, "not found in PATH"},
		{"not executable", []string{"--fence-agent", notExec}, "not an executable file"},
		{"literal password", []string{"--fence-agent", agent, "--fence-option", "password=hunter2"}, "from a file"},
		{"mistyped option", []string{"--fence-agent", agent, "--fence-option", "password:hunter2"}, "has no '='"},
		{"reserved", []string{"--fence-agent", agent, "--fence-option", "action=reboot"}, "zkfence sets action"},
		{"twice", []string{"--fence-agent", agent, "--fence-option", "ip=a", "--fence-option", "ip=b"}, "twice"},
		{"missing secret file", []string{"--fence-agent", agent, "--fence-option", "password=@/nonexistent/pw"}, "no such file"},
		{"unset variable", []string{"--fence-agent", agent, "--fence-option", "password=env:ZKFENCE_TEST_UNSET_PW"}, "is not set"},
		{"zero timeout", []string{"--fence-agent", agent, "--fence-timeout", "0s"}, "want 1s to 10m0s"},
		{"short timeout", []string{"--fence-agent", agent, "--fence-timeout", "500ms"}, "want 1s to 10m0s"},
		{"long timeout", []string{"--fence-agent", agent, "--fence-timeout", "11m"}, "want 1s to 10m0s"},
		{"bad fence id", []string{"--fence-id", "node\naction=on"}, "control character"},
		{"quoted fence id", []string{"--fence-id", `"node"`}, "double quotes"},
		{"bad plug param", []string{"--fence-agent", agent, "--fence-plug-param", "action"}, "plug parameter"},
	} {
		_, _, _, err := parseFenceAgentFlags(t, tc.args...)
		if code := exitCodeOf(err); code != exitcode.RefusedConfig || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%s: %v (exit %d); want exit %d saying %q", tc.name, err, code, exitcode.RefusedConfig, tc.why)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error shows the secret: %v", tc.name, err)
		}
		if err != nil && strings.Contains(err.Error(), "invalid fence agent configuration") {
			t.Errorf("%s: the sentinel's text doubles 'refused': %v", tc.name, err)
		}
	}
}

// A rejected option never reaches urfave/cli's own error (which would quote
// it) nor the flag's String.
func TestFenceOptionListHidesValues(t *testing.T) {
	var l fenceOptionList
	if err := l.Set("password:hunter2\nip=10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if s := l.String(); s != "?,ip" {
		t.Fatalf("String = %q", s)
	}
}

// Without a usable host name: a run without an agent records no fence id
// rather than refuse to start; with an agent it is refused.
func TestFenceIDWithoutHostName(t *testing.T) {
	saved := selfFenceID
	t.Cleanup(func() { selfFenceID = saved })
	selfFenceID = func() (string, string, error) { return "", "", fenceagent.ValidateFenceID("") }
	if a, id, _, err := parseFenceAgentFlags(t); err != nil || a != nil || id != "" {
		t.Fatalf("no agent: %v %q %v", a, id, err)
	}
	agent, _ := fakeAgentFile(t)
	if _, _, _, err := parseFenceAgentFlags(t, "--fence-agent", agent); exitCodeOf(err) != exitcode.RefusedConfig ||
		!strings.Contains(err.Error(), "no --fence-id and no usable host name") {
		t.Fatalf("with an agent: %v", err)
	}
	if _, id, _, err := parseFenceAgentFlags(t, "--fence-agent", agent, "--fence-id", "n1"); err != nil || id != "n1" {
		t.Fatalf("with --fence-id: %q %v", id, err)
	}
}

// Every flag shows its variable in the help, and the option list shows no
// default.
func TestFenceAgentFlagsHelp(t *testing.T) {
	var out strings.Builder
	app := &cli.App{Writer: &out, ErrWriter: io.Discard, ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{{Name: "run", Flags: fenceAgentFlags(), Action: func(*cli.Context) error { return nil }}}}
	if err := app.Run([]string{"zkfence", "run", "--help"}); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"AGENT", "OPTION", "ID", "TIMEOUT", "REQUIRED", "PEERS", "PLUG_PARAM"} {
		if !strings.Contains(out.String(), "$ZKFENCE_FENCE_"+v) {
			t.Errorf("help lacks $ZKFENCE_FENCE_%s:\n%s", v, out.String())
		}
	}
}
