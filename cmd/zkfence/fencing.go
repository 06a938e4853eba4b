package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/zkfence/zkfence/fenceagent"
	"github.com/zkfence/zkfence/health"
	"github.com/zkfence/zkfence/runner"
)

// attachFlags carry a network block device or cloud disk to this node
// under the lock.
func attachFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "attach-cmd", EnvVars: env("attach-cmd"),
			Usage: "shell `command` run under the lock after the previous holder was fenced and before fsck and mount " +
				"(nbd-client, iscsiadm, rbd map, a cloud disk attach); gets ZKFENCE_DEVICE, ZKFENCE_TOKEN, " +
				"ZKFENCE_PREVIOUS_FENCE_ID; killed when the lease ends"},
		&cli.StringFlag{Name: "detach-cmd", EnvVars: env("detach-cmd"),
			Usage: "shell `command` run after the unmount on the way out (nbd-client -d, ...); same environment"},
	}
}

// takeoverFlags turn on the fast takeover (issue 21).
func takeoverFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "fast-takeover", EnvVars: env("fast-takeover"),
			Usage: "as the first waiter, probe the holder's /healthz; when it stops answering, fence its node " +
				"(--fence-agent, confirmed off) and take over before its session expires; needs --fence-agent and --http"},
		&cli.DurationFlag{Name: "takeover-probe", EnvVars: env("takeover-probe"), Value: time.Second,
			Usage: "interval between probes of the holder, and each probe's timeout (100ms to 1m)"},
		&cli.IntFlag{Name: "takeover-after", EnvVars: env("takeover-after"), Value: 3,
			Usage: "consecutive probes without an answer before the holder is fenced (1 to 100)"},
		&cli.StringFlag{Name: "advertise-http", EnvVars: env("advertise-http"),
			Usage: "`host:port` where other nodes reach this node's --http endpoint, published in the lock node; " +
				"default: --http, with the host name when --http names no host"},
	}
}

// takeoverFromFlags reads takeoverFlags into cfg.
func takeoverFromFlags(c *cli.Context, cfg *runner.Config) error {
	adv, err := advertised(c)
	if err != nil {
		return err
	}
	cfg.Advertise = adv
	if host, _, err := net.SplitHostPort(adv); err == nil && (host == "localhost" || net.ParseIP(host).IsLoopback()) {
		cfg.Logger.Warn("the health address published for other nodes' fast-takeover probes is a loopback address: "+
			"waiters on other hosts cannot reach it (they would probe themselves); set --advertise-http", "address", adv)
	}
	if !c.Bool("fast-takeover") {
		for _, f := range []string{"takeover-probe", "takeover-after"} {
			if c.IsSet(f) {
				return refused("--%s needs --fast-takeover", f)
			}
		}
		return nil
	}
	if cfg.Fencer == nil {
		return refused("--fast-takeover needs --fence-agent: a holder is taken over only once its node is confirmed off")
	}
	if c.String("http") == "" {
		return refused("--fast-takeover needs --http: every node must answer its waiter's probes when it holds the lock")
	}
	probe, after := c.Duration("takeover-probe"), c.Int("takeover-after")
	if probe < 100*time.Millisecond || probe > time.Minute {
		return refused("--takeover-probe %s: want 100ms to 1m", probe)
	}
	if after < 1 || after > 100 {
		return refused("--takeover-after %d: want 1 to 100", after)
	}
	cfg.FastTakeover = &runner.FastTakeover{Probe: probe, After: after, ProbeTimeout: probe}
	return nil
}

// advertised is where other nodes reach this node's health endpoint.
func advertised(c *cli.Context) (string, error) {
	if a := c.String("advertise-http"); a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return "", refused("--advertise-http %q: want host:port", a)
		}
		return a, nil
	}
	addr := c.String("http")
	if addr == "" {
		return "", nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", refused("--http %q: want [host]:port", addr)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if host, err = os.Hostname(); err != nil {
			return "", nil // nothing to publish; waiters then wait for the session to expire
		}
	}
	return net.JoinHostPort(host, port), nil
}

// fencingFromFlags adds this node's fence id, the fence agent and the
// attach commands to cfg.
func fencingFromFlags(c *cli.Context, cfg *runner.Config, state *health.State) error {
	agent, id, required, err := fenceAgentFromFlags(c)
	if err != nil {
		return err
	}
	if cfg.FencePeers, err = fencePeersFromFlags(c); err != nil {
		return err
	}
	cfg.FenceID, cfg.FenceRequired = id, required
	if agent != nil {
		agent.Log = cfg.Logger
		agent.Metrics = fenceagent.NewMetrics()
		state.Register(agent.Metrics)
		cfg.Fencer = agentFencer{agent: agent, log: cfg.Logger}
	}
	if a, d := c.String("attach-cmd"), c.String("detach-cmd"); a != "" || d != "" {
		if a == "" {
			return refused("--detach-cmd needs --attach-cmd")
		}
		cfg.Attach = &runner.Attach{Cmd: a, Detach: d, Env: []string{"ZKFENCE_DEVICE=" + c.String("device")}}
	}
	return takeoverFromFlags(c, cfg)
}

// agentFencer is runner.Fencer over a fence agent.
type agentFencer struct {
	agent *fenceagent.Agent
	log   *slog.Logger
}

func (f agentFencer) Off(ctx context.Context, id string) error { return f.agent.Off(ctx, id) }

// Unfence runs action=on for our own id when the agent says it needs it
// (fence_scsi, fence_mpath: the storage refuses a node whose key is gone).
//
// It asks the agent (action=metadata) every time, with no cache, because a
// cache would never be used: Unfence runs once per zkfence process (the
// runner calls it from takeOver, once, after the one acquisition of the
// run; a run never takes the lock twice and exits after its one child), and
// a cache kept across processes (on disk) could outlive an upgrade of the
// agent, whose answer decides whether this node is unfenced before it
// touches the storage. What the metadata costs on the takeover path (one
// agent run under the lock) could only be saved by asking before the lock
// is taken, which would change the order of the run's events.
func (f agentFencer) Unfence(ctx context.Context, id string) error {
	md, err := f.agent.Metadata(ctx)
	if err != nil {
		return err
	}
	if !md.NeedsUnfencing() {
		return nil
	}
	f.log.Info("unfencing this node at the storage", "fence_id", id)
	return f.agent.On(ctx, id)
}
