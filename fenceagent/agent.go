package fenceagent

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Defaults and bounds of an Agent's timing.
const (
	// DefaultTimeout bounds one whole operation (Off: the off action and
	// its confirmation). Pacemaker's default stonith-timeout is 60 s too.
	DefaultTimeout = 60 * time.Second
	// MaxTimeout: a fence that takes longer is a failover that never ends.
	MaxTimeout = 10 * time.Minute
	// DefaultConfirmAttempts and DefaultConfirmInterval: how often Off asks
	// for action=status before it gives up (all within Timeout). fencing.py
	// already waits for the power state before it exits 0 for off, so the
	// first status usually confirms; a device that reports late gets a few
	// more chances.
	DefaultConfirmAttempts = 5
	DefaultConfirmInterval = time.Second
	// DefaultPlugParam is the name of the target's line: ClusterLabs'
	// agents call it plug (and still accept its old name, port).
	DefaultPlugParam = "plug"
)

// Agent runs one fence agent. The zero values of PlugParam, Timeout,
// ConfirmAttempts and ConfirmInterval mean their defaults; Log may be nil,
// Metrics may be nil. Call Validate once before use.
type Agent struct {
	Path            string   // absolute path of the agent, e.g. /usr/sbin/fence_docker
	Options         []Option // extra lines of its stdin (ip, ipport, password, ...)
	PlugParam       string   // name of the target's line: plug (default) or port
	Timeout         time.Duration
	ConfirmAttempts int
	ConfirmInterval time.Duration
	Log             *slog.Logger
	Metrics         *Metrics
}

// Validate refuses, with an error wrapping ErrInvalid, an agent that is not
// an executable file, malformed or duplicate options, an option whose file
// or variable cannot be read now, and timings out of bounds.
func (a *Agent) Validate() error {
	if !filepath.IsAbs(a.Path) {
		return invalidf("fence agent %q: want an absolute path", a.Path)
	}
	st, err := os.Stat(a.Path)
	if err != nil {
		return invalidf("fence agent: %v", err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return invalidf("fence agent %s is not an executable file", a.Path)
	}
	if a.PlugParam != "" && (!nameRe.MatchString(a.PlugParam) || a.PlugParam == "action") {
		return invalidf("plug parameter %q: want a name such as plug or port", a.PlugParam)
	}
	if a.Timeout < 0 || a.Timeout > MaxTimeout {
		return invalidf("fence timeout %s: want more than 0 and at most %s", a.Timeout, MaxTimeout)
	}
	if a.ConfirmAttempts < 0 || a.ConfirmAttempts > 100 || a.ConfirmInterval < 0 || a.ConfirmInterval > a.timeout() {
		return invalidf("confirmation: %d attempts every %s: want 1-100 attempts, an interval within the timeout",
			a.ConfirmAttempts, a.ConfirmInterval)
	}
	seen := map[string]bool{}
	for _, o := range a.Options {
		if err := o.validate(); err != nil {
			return err
		}
		key := strings.ReplaceAll(strings.ToLower(o.Name), "-", "_")
		if seen[key] || strings.EqualFold(o.Name, a.plugParam()) {
			return invalidf("fence option %s given twice (or it is the plug parameter)", o.Name)
		}
		seen[key] = true
		if _, err := o.Value(); err != nil {
			return err
		}
	}
	return nil
}

func (a *Agent) plugParam() string       { return cmp(a.PlugParam, DefaultPlugParam) }
func (a *Agent) timeout() time.Duration  { return cmp(a.Timeout, DefaultTimeout) }
func (a *Agent) attempts() int           { return cmp(a.ConfirmAttempts, DefaultConfirmAttempts) }
func (a *Agent) interval() time.Duration { return cmp(a.ConfirmInterval, DefaultConfirmInterval) }

func (a *Agent) log() *slog.Logger {
	if a.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Log.With("fence_agent", filepath.Base(a.Path))
}

// cmp is the first of v and def that is not zero.
func cmp[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// input is the agent's stdin for one action, and the secret values in it.
// The options come first and action and plug last: fencing.py keeps the
// last of two lines with the same name.
func (a *Agent) input(action, plug string) ([]byte, []string, error) {
	var b bytes.Buffer
	var secrets []string
	for _, o := range a.Options {
		v, err := o.Value()
		if err != nil {
			return nil, nil, err
		}
		if o.Secret() {
			secrets = append(secrets, v)
		}
		fmt.Fprintf(&b, "%s=%s\n", o.Name, v)
	}
	fmt.Fprintf(&b, "action=%s\n", action)
	if plug != "" {
		fmt.Fprintf(&b, "%s=%s\n", a.plugParam(), plug)
	}
	return b.Bytes(), secrets, nil
}

// withDeadline bounds one operation by Timeout (and by ctx).
func (a *Agent) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, a.timeout(), ErrTimeout)
}

// lastLines is the end of an agent's output, for an error message.
func lastLines(out string, n int) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	s := strings.Join(lines, " | ")
	if s == "" {
		return "no output"
	}
	return "output: " + s
}
