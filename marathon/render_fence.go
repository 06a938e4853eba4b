package marathon

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// FenceSpec is the fence agent zkfence run uses to fence the previous
// holder's node before it starts the database (zkfence run --fence-agent,
// --fence-option, --fence-id, --fence-timeout, --fence-required,
// --fence-peers). Render
// writes these flags into the task's command; zkfence run checks them.
type FenceSpec struct {
	Agent    string   `json:"agent,omitempty"`    // fence_aws, fence_virsh, ...; "none" renders no fencing
	Options  []string `json:"options,omitempty"`  // NAME=VALUE lines of the agent's stdin; secrets as NAME=env:VAR or NAME=@FILE
	ID       string   `json:"id,omitempty"`       // this node's fence id; fence_aws: the EC2 instance id, read at start
	Timeout  string   `json:"timeout,omitempty"`  // --fence-timeout, 1s to 10m
	Required *bool    `json:"required,omitempty"` // --fence-required; default true
	// Peers (--fence-peers) are the fence ids of the service's nodes, the
	// only ones zkfence run asks the agent to fence: an id read from a
	// volume's fence record is fenced only when listed here.
	Peers []string `json:"peers,omitempty"`
}

// fenceAgentNone is the agent name that renders no fencing at all.
const fenceAgentNone = "none"

// fenceAWS is the agent for EC2 instances; its plug is the instance id.
const fenceAWS = "fence_aws"

// ec2FenceID is the shell that sets ZKFENCE_FENCE_ID to this node's EC2
// instance id (IMDSv2, a token then the id, each bounded to 5 s) before
// zkfence starts, and exits 78 when it cannot: recording a wrong id
// would make the next holder fence the wrong node, or none.
const ec2FenceID = `ZKFENCE_FENCE_ID="$(t="$(curl -fsS -m 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' ` +
	`http://169.254.169.254/latest/api/token)" && curl -fsS -m 5 -H "X-aws-ec2-metadata-token: $t" ` +
	`http://169.254.169.254/latest/meta-data/instance-id)" && [ -n "$ZKFENCE_FENCE_ID" ] || ` +
	`{ echo 'zkfence: cannot read this node'"'"'s EC2 instance id for --fence-id' >&2; exit 78; }; `

var (
	fenceAgentName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_./-]*$`)
	fenceOptName   = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]*$`)
	// secretOptName: option names whose value is a credential (fence_aws
	// secret_key, passwd, ...): never written into a Marathon definition.
	secretOptName = regexp.MustCompile(`(?i)passw|secret|community|apikey|token|credential|access_key`)
)

// check refuses a fence spec zkfence run would refuse, and a credential
// written in clear into the definition.
func (f *FenceSpec) check() error {
	if f == nil {
		return nil
	}
	if f.Agent == "" || f.Agent == fenceAgentNone {
		if len(f.Options) > 0 || f.ID != "" || f.Timeout != "" || f.Required != nil || len(f.Peers) > 0 {
			return fmt.Errorf("%w: fence options, id, timeout, required and peers need a fence agent", ErrBadInput)
		}
		return nil
	}
	if !fenceAgentName.MatchString(f.Agent) {
		return fmt.Errorf("%w: fence agent %q: want a name such as fence_aws, or a path", ErrBadInput, f.Agent)
	}
	for _, o := range f.Options {
		name, val, ok := strings.Cut(o, "=")
		switch {
		case !ok || !fenceOptName.MatchString(name) || strings.ContainsAny(val, "\n\r\x00"):
			return fmt.Errorf("%w: fence option %q: want NAME=VALUE on one line", ErrBadInput, o)
		case secretOptName.MatchString(name) && !strings.HasPrefix(val, "env:") && !strings.HasPrefix(val, "@"):
			return fmt.Errorf("%w: fence option %s: a credential goes in as %s=env:VARIABLE or %s=@FILE, "+
				"never in the app definition", ErrBadInput, name, name, name)
		}
	}
	if strings.ContainsFunc(f.ID, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("%w: fence id %q contains a control character", ErrBadInput, f.ID)
	}
	for _, p := range f.Peers {
		if err := checkPeer(p); err != nil {
			return err
		}
	}
	if f.Timeout != "" {
		if d, err := time.ParseDuration(f.Timeout); err != nil || d < time.Second || d > 10*time.Minute {
			return fmt.Errorf("%w: fence timeout %q: want 1s to 10m", ErrBadInput, f.Timeout)
		}
	}
	return nil
}

// checkPeer refuses a fence peer that zkfence run would refuse (the rules
// of a fence agent's plug), or that holds the list's separator.
func checkPeer(p string) error {
	switch {
	case p == "" || len(p) > 255:
		return fmt.Errorf("%w: fence peer %q: want 1 to 255 bytes", ErrBadInput, p)
	case strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("%w: fence peer %q contains a control character", ErrBadInput, p)
	case strings.Contains(p, ","):
		return fmt.Errorf("%w: fence peer %q contains a comma, which separates --fence-peers", ErrBadInput, p)
	case strings.TrimSpace(p) != p:
		return fmt.Errorf("%w: fence peer %q starts or ends with a blank", ErrBadInput, p)
	case len(p) >= 2 && p[0] == '"' && p[len(p)-1] == '"':
		return fmt.Errorf("%w: fence peer %q is in double quotes", ErrBadInput, p)
	}
	return nil
}

// fenceArgs are zkfence run's fence flags, and the shell that must run
// before zkfence to find this node's fence id ("" when none).
func (f *FenceSpec) fenceArgs() (args []string, before string) {
	if f == nil || f.Agent == "" || f.Agent == fenceAgentNone {
		return nil, ""
	}
	args = []string{"--fence-agent", shQuote(f.Agent)}
	for _, o := range f.Options {
		args = append(args, "--fence-option", shQuote(o))
	}
	switch {
	case f.ID != "":
		args = append(args, "--fence-id", shQuote(f.ID))
	case f.Agent == fenceAWS:
		args = append(args, "--fence-id", shExpand("$ZKFENCE_FENCE_ID"))
		before = ec2FenceID
	}
	if len(f.Peers) > 0 {
		args = append(args, "--fence-peers", shQuote(strings.Join(f.Peers, ",")))
	}
	if f.Timeout != "" {
		args = append(args, "--fence-timeout", shQuote(f.Timeout))
	}
	if f.Required == nil || *f.Required {
		args = append(args, "--fence-required")
	}
	return args, before
}
