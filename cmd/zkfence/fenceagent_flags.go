package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/zkfence/zkfence/fenceagent"
)

// minFenceTimeout: a Python fence agent takes a few hundred milliseconds
// just to start; a shorter timeout could never succeed.
const minFenceTimeout = time.Second

// fenceAgentFlags are the flags of `zkfence run` and `zkfence check` that
// fence the previous holder through a fence agent (issue 17). They are
// distinct from fenceFlags (the volume's fence record: --lock-delay...).
func fenceAgentFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "fence-agent", EnvVars: env("fence-agent"),
			Usage: "fence the previous holder with this `agent` before touching storage: a ClusterLabs fence agent " +
				"(fence_docker, fence_virsh, fence_aws, fence_scsi...) or anything speaking its stdin protocol; " +
				"a path or a name looked up in PATH"},
		&cli.GenericFlag{Name: "fence-option", EnvVars: env("fence-option"), Value: &fenceOptionList{},
			Usage: "a `NAME=VALUE` line of the agent's stdin, repeatable (ip=..., ssl_insecure=1, ...); " +
				"NAME=@FILE takes the value from a file, NAME=env:VAR from an environment variable, NAME=raw:VALUE " +
				"is a literal starting with @ or env:; passwords and other secrets only from a file or a variable; " +
				"in the environment variable, one option per line"},
		&cli.StringFlag{Name: "fence-id", EnvVars: env("fence-id"),
			Usage: "this node's `id` for the fence agent (the plug the next holder fences); " +
				"default: the container ID inside a container, else the host name"},
		&cli.DurationFlag{Name: "fence-timeout", EnvVars: env("fence-timeout"), Value: fenceagent.DefaultTimeout,
			Usage: "kill the agent, and count fencing as failed, after this long (action off and its confirmation); " +
				"1s to 10m"},
		&cli.BoolFlag{Name: "fence-required", EnvVars: env("fence-required"),
			Usage: "refuse to start when the previous holder cannot be fenced (without it: FENCING FAILED is " +
				"logged and the lock-delay is waited out)"},
		&cli.StringFlag{Name: "fence-peers", EnvVars: env("fence-peers"),
			Usage: "the fence `ID[,ID...]` of this service's nodes: the only ids the agent is asked to fence. An id read " +
				"from a volume's fence record is fenced only when listed here (without this flag, never: anyone who can " +
				"write that record would choose whom root fences); an id from ZooKeeper is fenced as before without this " +
				"flag, and only when listed with it. An id not listed is a fence that failed (--fence-required refuses)"},
		&cli.StringFlag{Name: "fence-plug-param", EnvVars: env("fence-plug-param"), Value: fenceagent.DefaultPlugParam,
			Usage: "`name` of the agent's target line: plug, or port for agents older than fence-agents 4"},
	}
}

// fenceAgentFromFlags reads fenceAgentFlags. It returns this node's fence
// id even without an agent (every holder records it, so that a next holder
// with an agent can fence it; it is "" only when there is no agent, no
// --fence-id and no usable host name), and the agent, validated, when --fence-agent is
// given (nil otherwise). The caller sets Agent.Log and Agent.Metrics. Bad
// input is refused (exit 78) without running the agent; `zkfence check`
// then runs Agent.Check.
func fenceAgentFromFlags(c *cli.Context) (agent *fenceagent.Agent, fenceID string, required bool, err error) {
	name := c.String("fence-agent")
	if fenceID, err = fenceIDFromFlags(c); err != nil {
		if name != "" || c.IsSet("fence-id") {
			return nil, "", false, err
		}
		fenceID = "" // no agent here and no usable host name: record no id rather than refuse to run
	}
	if name == "" {
		for _, f := range []string{"fence-option", "fence-required", "fence-timeout", "fence-plug-param"} {
			if c.IsSet(f) {
				return nil, "", false, refused("--%s needs --fence-agent", f)
			}
		}
		return nil, fenceID, false, nil
	}
	path, err := agentPath(name)
	if err != nil {
		return nil, "", false, err
	}
	a := &fenceagent.Agent{Path: path, PlugParam: c.String("fence-plug-param"), Timeout: c.Duration("fence-timeout")}
	if t := a.Timeout; t < minFenceTimeout || t > fenceagent.MaxTimeout {
		return nil, "", false, refused("--fence-timeout %s: want %s to %s", t, minFenceTimeout, fenceagent.MaxTimeout)
	}
	for _, s := range c.Generic("fence-option").(*fenceOptionList).items {
		o, err := fenceagent.ParseOption(s)
		if err != nil {
			return nil, "", false, refused("--fence-option: %v", withoutSentinel(err))
		}
		a.Options = append(a.Options, o)
	}
	if err := a.Validate(); err != nil {
		return nil, "", false, refused("--fence-agent %s: %v", path, withoutSentinel(err))
	}
	return a, fenceID, c.Bool("fence-required"), nil
}

// fencePeersFromFlags reads --fence-peers: nil when not given (or empty),
// else the ids, each checked as the agent checks a plug, once each.
// Refused without --fence-agent: the list only says whom the agent may fence.
func fencePeersFromFlags(c *cli.Context) ([]string, error) {
	v := strings.TrimSpace(c.String("fence-peers"))
	if v == "" {
		return nil, nil
	}
	if c.String("fence-agent") == "" {
		return nil, refused("--fence-peers needs --fence-agent: it lists the nodes the agent may fence")
	}
	var peers []string
	for _, id := range strings.Split(v, ",") {
		id = strings.TrimSpace(id)
		if err := fenceagent.ValidateFenceID(id); err != nil {
			return nil, refused("--fence-peers: %v (want ID[,ID...])", withoutSentinel(err))
		}
		if !slices.Contains(peers, id) {
			peers = append(peers, id)
		}
	}
	return peers, nil
}

// selfFenceID is the default fence id (a variable for the tests).
var selfFenceID = fenceagent.SelfID

// fenceIDFromFlags is --fence-id, or the container ID, or the host name.
func fenceIDFromFlags(c *cli.Context) (string, error) {
	id := c.String("fence-id")
	if id == "" {
		var err error
		if id, _, err = selfFenceID(); err != nil {
			return "", refused("no --fence-id and no usable host name: %v", withoutSentinel(err))
		}
	}
	if err := fenceagent.ValidateFenceID(id); err != nil {
		return "", refused("--fence-id: %v", withoutSentinel(err))
	}
	return id, nil
}

// agentPath resolves --fence-agent: a path, or a name in PATH or in
// /usr/sbin (where Debian's fence-agents puts them, not always in a
// container's PATH).
func agentPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		abs, err := filepath.Abs(name)
		if err != nil {
			return "", refused("--fence-agent %s: %v", name, err)
		}
		return abs, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return filepath.Abs(p)
	}
	p := filepath.Join("/usr/sbin", name)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", refused("--fence-agent %s: not found in PATH nor in /usr/sbin (Debian's package fence-agents)", name)
}

// withoutSentinel drops fenceagent's "invalid fence agent configuration: "
// prefix: refused already says it.
func withoutSentinel(err error) string {
	s := err.Error()
	if errors.Is(err, fenceagent.ErrInvalid) {
		s = strings.TrimPrefix(s, fenceagent.ErrInvalid.Error()+": ")
	}
	return s
}

// fenceOptionList collects --fence-option values; ZKFENCE_FENCE_OPTION
// holds one per line (a value may contain commas). Set never fails and
// String never shows a value: urfave/cli would quote a rejected value in its
// error, and a mistyped option may hold a secret. fenceAgentFromFlags parses
// them.
type fenceOptionList struct{ items []string }

func (l *fenceOptionList) Set(v string) error {
	for _, line := range strings.Split(v, "\n") {
		if line = strings.TrimSuffix(line, "\r"); strings.TrimSpace(line) != "" {
			l.items = append(l.items, line)
		}
	}
	return nil
}

func (l *fenceOptionList) String() string {
	names := make([]string, 0, len(l.items))
	for _, s := range l.items {
		name, _, ok := strings.Cut(s, "=")
		if !ok || strings.ContainsAny(name, ": \t") {
			name = "?" // not NAME=...: maybe a mistyped secret
		}
		names = append(names, name)
	}
	return strings.Join(names, ",")
}
