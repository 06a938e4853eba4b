package main

import (
	"github.com/urfave/cli/v2"

	"github.com/zkfence/zkfence/marathon"
)

// The plumbing of the commands that talk to Marathon (deploy, tasks,
// volumes, wipe): the same client flags, the same client, the same --pod.

// clientFlags are the flags of the commands that talk to Marathon.
func clientFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "marathon", EnvVars: []string{"ZKFENCE_MARATHON_URL"}, Required: true,
			Usage: "Marathon's `URL`: http(s)://host:8080, or https://<dcos>/service/marathon"},
		&cli.StringFlag{Name: "token", EnvVars: menv("token"),
			Usage: "DC/OS authentication `token`, sent as \"Authorization: token=...\" (prefer the environment variable)"},
		&cli.StringFlag{Name: "ca-file", EnvVars: menv("ca-file"), Usage: "PEM `file` of the CAs that sign Marathon's certificate"},
		&cli.DurationFlag{Name: "timeout", EnvVars: menv("timeout"), Value: marathon.DefaultTimeout,
			Usage: "give up on a request Marathon does not answer within this time"},
		&cli.BoolFlag{Name: "pod", EnvVars: menv("pod"), Usage: "the service is a pod, not an app"},
	}
}

// clientCommand is a subcommand that talks to Marathon: the client flags,
// then its own.
func clientCommand(name, usage, argsUsage string, action cli.ActionFunc, flags ...cli.Flag) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     usage,
		ArgsUsage: argsUsage,
		Flags:     append(clientFlags(), flags...),
		Action:    action,
	}
}

// jsonFlag is --json of the commands that list.
func jsonFlag() cli.Flag {
	return &cli.BoolFlag{Name: "json", EnvVars: menv("json"), Usage: "print JSON"}
}

func newMarathonClient(c *cli.Context) (*marathon.Client, error) {
	cl, err := marathon.NewClient(marathon.ClientConfig{URL: c.String("marathon"), Token: c.String("token"),
		CAFile: c.String("ca-file"), Timeout: c.Duration("timeout")})
	if err != nil {
		return nil, refused("%v", err)
	}
	return cl, nil
}

// serviceClient takes the command's one argument, an app or pod id, and
// builds the client.
func serviceClient(c *cli.Context) (string, *marathon.Client, error) {
	id, err := oneArg(c, "the app or pod id")
	if err != nil {
		return "", nil, err
	}
	cl, err := newMarathonClient(c)
	if err != nil {
		return "", nil, err
	}
	return id, cl, nil
}

func serviceKind(c *cli.Context) marathon.Kind {
	if c.Bool("pod") {
		return marathon.KindPod
	}
	return marathon.KindApp
}
