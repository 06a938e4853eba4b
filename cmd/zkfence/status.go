package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/zkfence/zkfence/lock"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show who holds the lock and who waits, in order",
		Flags: append(zkFlags(),
			&cli.BoolFlag{Name: "json", EnvVars: env("status-json"), Usage: "print JSON"},
			&cli.DurationFlag{Name: "connect-timeout", EnvVars: env("connect-timeout"), Value: 15 * time.Second,
				Usage: "give up when ZooKeeper does not answer within this time"},
		),
		Action: statusAction,
	}
}

// statusReport is what `zkfence status --json` prints.
type statusReport struct {
	Lock    string           `json:"lock"`
	Holder  *lock.Contender  `json:"holder"`
	Waiting []lock.Contender `json:"waiting"`
	// Fence is the fence state beside the lock: the last holder, and
	// whether it released cleanly; nil before the first holder.
	Fence *lock.FenceState `json:"fence_state"`
}

func statusAction(c *cli.Context) error {
	zkcfg, err := sessionConfig(c, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Duration("connect-timeout"))
	defer cancel()
	sess, err := lock.Dial(ctx, zkcfg)
	if err != nil {
		return err
	}
	defer sess.Close()
	line, err := sess.Contenders(c.String("lock"))
	if err != nil {
		return err
	}
	fs, err := sess.ReadFenceState(c.String("lock"))
	if err != nil {
		return err
	}
	report := statusReport{Lock: c.String("lock"), Waiting: []lock.Contender{}}
	if fs.Found() {
		report.Fence = &fs.FenceState
	}
	if len(line) > 0 {
		report.Holder, report.Waiting = &line[0], line[1:]
	}
	if c.Bool("json") {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(report)
	}
	return printStatus(os.Stdout, report)
}

func printStatus(w io.Writer, r statusReport) error {
	if err := printFenceState(w, r); err != nil {
		return err
	}
	if r.Holder == nil {
		_, err := fmt.Fprintf(w, "%s: free (no holder, nobody waiting)\n", r.Lock)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ROLE\tTOKEN\tSINCE\tHOST\tPID\tNODE\n")
	for i, k := range append([]lock.Contender{*r.Holder}, r.Waiting...) {
		role := "holder"
		if i > 0 {
			role = fmt.Sprintf("waiting #%d", i)
		}
		host, pid := k.Data, "-"
		if k.Holder != nil {
			host, pid = k.Holder.Host, fmt.Sprint(k.Holder.PID)
		}
		if host == "" {
			host = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", role, k.Token, k.Since.Format(time.RFC3339), host, pid, k.Node)
	}
	return tw.Flush()
}

// printFenceState prints the last holder recorded beside the lock.
func printFenceState(w io.Writer, r statusReport) error {
	f := r.Fence
	if f == nil {
		_, err := fmt.Fprintf(w, "fence state %s: none yet\n", lock.FenceStatePath(r.Lock))
		return err
	}
	how := "did NOT release cleanly (the next holder waits out the lock-delay)"
	if f.Released {
		how = "released cleanly"
	}
	_, err := fmt.Fprintf(w, "fence state %s: token %d, %s, updated %s, holder %s\n",
		lock.FenceStatePath(r.Lock), f.Token, how, f.Updated.Format(time.RFC3339), f.Holder)
	return err
}
