package main

import (
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/zkfence/zkfence/exitcode"
	"github.com/zkfence/zkfence/marathon"
)

// parseFencePeers runs fencePeersFromFlags on args, as `zkfence run` would.
func parseFencePeers(t *testing.T, args ...string) ([]string, error) {
	t.Helper()
	var peers []string
	var ferr error
	app := &cli.App{Writer: io.Discard, ErrWriter: io.Discard, ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{{Name: "run", Flags: fenceAgentFlags(), Action: func(c *cli.Context) error {
			peers, ferr = fencePeersFromFlags(c)
			return nil
		}}}}
	if err := app.Run(append([]string{"zkfence", "run"}, args...)); err != nil {
		return nil, err
	}
	return peers, ferr
}

func TestFencePeersFlag(t *testing.T) {
	agent, _ := fakeAgentFile(t)
	for _, tc := range []struct {
		name string
		args []string
		env  string
		want []string
	}{
		{"not given", []string{"--fence-agent", agent}, "", nil},
		{"one", []string{"--fence-agent", agent, "--fence-peers", "node-a"}, "", []string{"node-a"}},
		{"list, blanks, twice", []string{"--fence-agent", agent, "--fence-peers", "node-a, db-2.example.com ,node-a"}, "",
			[]string{"node-a", "db-2.example.com"}},
		{"environment", []string{"--fence-agent", agent}, "i-0abc,i-0def", []string{"i-0abc", "i-0def"}},
		{"empty", []string{"--fence-agent", agent, "--fence-peers", " "}, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("ZKFENCE_FENCE_PEERS", tc.env)
			}
			got, err := parseFencePeers(t, tc.args...)
			if err != nil || !slices.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
				t.Fatalf("peers %q (%v), want %q", got, err, tc.want)
			}
		})
	}
}

// --fence-peers without an agent, or with an id the agent would refuse as a
// plug, is refused (exit 78) before anything is connected or started.
func TestFencePeersRefused(t *testing.T) {
	agent, _ := fakeAgentFile(t)
	run := func(extra ...string) []string {
		args := append([]string{"run", "--zk", "127.0.0.1:1", "--lock", "/x", "--freeze-guard", "off", "--fence-id", "node-b"}, extra...)
		return append(args, "--", "true")
	}
	for _, tc := range []struct {
		name string
		args []string
		env  string
		why  string
	}{
		{"without an agent", run("--fence-peers", "node-a"), "", "--fence-peers needs --fence-agent"},
		{"without an agent, from the environment", run(), "node-a", "--fence-peers needs --fence-agent"},
		{"empty id", run("--fence-agent", agent, "--fence-peers", "node-a,,node-c"), "", "--fence-peers: empty fence id"},
		{"trailing comma", run("--fence-agent", agent, "--fence-peers", "node-a,"), "", "--fence-peers: empty fence id"},
		{"control character", run("--fence-agent", agent), "node-a,node\x1bc", "control character"},
		{"quoted id", run("--fence-agent", agent, "--fence-peers", `node-a,"node-c"`), "", "double quotes"},
		{"too long", run("--fence-agent", agent, "--fence-peers", strings.Repeat("n", 256)), "", "longer than 255"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("ZKFENCE_FENCE_PEERS", tc.env)
			}
			code, out := runInProcess(t, tc.args...)
			if code != exitcode.RefusedConfig || !strings.Contains(out, tc.why) {
				t.Fatalf("exit %d, want %d saying %q:\n%s", code, exitcode.RefusedConfig, tc.why, out)
			}
		})
	}
}

// `zkfence check` shows the list, and warns when it holds this node's own id.
func TestCheckFencePeers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		peers []string
		want  []string
		not   []string
	}{
		{"not given", nil, nil, []string{"fence peers"}},
		{"others", []string{"node-a", "node-c"}, []string{"fence peers (the only ids the agent is asked to fence): node-a, node-c"},
			[]string{"WARNING"}},
		{"our own id", []string{"node-a", "node-b"}, []string{"node-a, node-b", "WARNING: fence peers", "own fence id (node-b)"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			k := &checker{w: &out}
			checkFencePeers(k, "node-b", tc.peers)
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tc.not {
				if strings.Contains(out.String(), w) {
					t.Errorf("output has %q:\n%s", w, out.String())
				}
			}
			if k.problems != 0 {
				t.Errorf("%d problems, want none (a warning)", k.problems)
			}
		})
	}
}

// `zkfence marathon render` passes --fence-peers through to zkfence run.
func TestMarathonRenderFencePeers(t *testing.T) {
	out, errOut, code := runMarathon(t, "", "render", "--id", "/db/pg", "--engine", "postgres", "--zk", "zk:2181",
		"--volume-size", "100", "--fence-agent", "fence_virsh", "--fence-id", "node-1",
		"--fence-peers", "node-1,node-2", "--fence-peers", "node-3")
	if code != 0 {
		t.Fatalf("render: %d %s", code, errOut)
	}
	var a marathon.App
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if want := "--fence-id node-1 --fence-peers node-1,node-2,node-3 "; !strings.Contains(*a.Cmd, want) {
		t.Fatalf("cmd %s\nwant %s", *a.Cmd, want)
	}
	if _, errOut, code := runMarathon(t, "", "render", "--id", "/db/pg", "--engine", "postgres", "--zk", "zk:2181",
		"--volume-size", "100", "--fence-peers", "node-1"); code != exitcode.RefusedConfig || !strings.Contains(errOut, "need a fence agent") {
		t.Fatalf("peers without an agent: exit %d %s", code, errOut)
	}
}
