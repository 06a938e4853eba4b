package main

import (
	"context"
	"log/slog"

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

// fencingFromFlags adds this node's fence id, the fence agent and the
// attach commands to cfg.
func fencingFromFlags(c *cli.Context, cfg *runner.Config, state *health.State) error {
	agent, id, required, err := fenceAgentFromFlags(c)
	if err != nil {
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
	return nil
}

// agentFencer is runner.Fencer over a fence agent.
type agentFencer struct {
	agent *fenceagent.Agent
	log   *slog.Logger
}

func (f agentFencer) Off(ctx context.Context, id string) error { return f.agent.Off(ctx, id) }

// Unfence runs action=on for our own id when the agent says it needs it
// (fence_scsi, fence_mpath: the storage refuses a node whose key is gone).
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
