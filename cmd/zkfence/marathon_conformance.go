package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/zkfence/zkfence/marathon"
)

// `zkfence marathon conformance`: the validator against Marathon's answers.

func marathonConformanceCommand() *cli.Command {
	return &cli.Command{
		Name:  "conformance",
		Usage: "run the Marathon conformance corpus and print the agreement by rule set",
		Flags: []cli.Flag{&cli.StringFlag{Name: "corpus", EnvVars: menv("corpus"), Required: true,
			Usage: "the corpus `DIR` (with cases.tsv)"}},
		Action: func(c *cli.Context) error {
			results, err := marathon.RunCorpus(c.String("corpus"))
			if err != nil {
				return refused("%v", err)
			}
			var failed []string
			for _, r := range results {
				if !r.Agreed {
					failed = append(failed, fmt.Sprintf("  %s: %s", r.File, r.Why))
				}
			}
			if _, err := fmt.Fprint(c.App.Writer, marathon.ConformanceTable(results)); err != nil {
				return err
			}
			if len(failed) > 0 {
				return fmt.Errorf("%d case(s) disagree with Marathon:\n%s", len(failed), strings.Join(failed, "\n"))
			}
			return nil
		},
	}
}
