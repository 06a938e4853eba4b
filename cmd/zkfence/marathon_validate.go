package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/zkfence/zkfence/marathon"
)

// `zkfence marathon validate`: Marathon's checks, offline.

func marathonValidateCommand() *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "check a definition against Marathon's rules for resident apps and pods and external volumes",
		ArgsUsage: "FILE (- for stdin)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "kind", EnvVars: menv("kind"), Value: "app",
				Usage: "app, pod, volume, container, update-app or update-pod ({\"from\": old, \"to\": new})"},
			&cli.StringFlag{Name: "update-from", EnvVars: menv("update-from"),
				Usage: "the current definition (`FILE`): also check the update rules of resident services"},
			&cli.StringFlag{Name: "rules", EnvVars: menv("rules"), Value: "head",
				Usage: "head (Marathon 1.9+ with role enforcement), schema (without it) or legacy (1.1-1.5)"},
			&cli.StringFlag{Name: "mesos-role", EnvVars: menv("mesos-role"), Value: "*", Usage: "Marathon's --mesos_role"},
			&cli.StringFlag{Name: "previous-role", EnvVars: menv("previous-role"), Usage: "the role the service has now"},
			&cli.BoolFlag{Name: "force", EnvVars: menv("force"), Usage: "the request will carry ?force=true"},
			&cli.BoolFlag{Name: "enforce-group-role", EnvVars: menv("enforce-group-role"),
				Usage: "the service's top-level group has enforceRole"},
			&cli.StringSliceFlag{Name: "enable-features", EnvVars: menv("enable-features"),
				Usage: "Marathon's --enable_features, e.g. external_volumes (repeatable or comma-separated)"},
		},
		Action: marathonValidate,
	}
}

func marathonValidate(c *cli.Context) error {
	name, doc, err := definitionArg(c)
	if err != nil {
		return err
	}
	opts := marathon.Options{Rules: marathon.RuleSet(c.String("rules")), MesosRole: c.String("mesos-role"),
		PreviousRole: c.String("previous-role"), Force: c.Bool("force"), EnforceGroupRole: c.Bool("enforce-group-role"),
		Features: c.StringSlice("enable-features")}
	kind := marathon.Kind(c.String("kind"))
	var verr error
	if from := c.String("update-from"); from != "" {
		old, err := readInput(c, from)
		if err != nil {
			return err
		}
		verr = marathon.ValidateUpdate(kind, old, doc, opts)
	} else {
		verr = marathon.Validate(kind, doc, opts)
	}
	if verr != nil {
		return reportInvalid(c, name, verr)
	}
	_, err = fmt.Fprintf(c.App.Writer, "%s: valid %s\n", name, kind)
	return err
}
