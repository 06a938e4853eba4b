package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/zkfence/zkfence/marathon"
)

// `zkfence marathon ...`: the scheduler side. render and validate work
// offline; deploy, tasks, volumes and wipe talk to Marathon. Every flag has
// an environment variable ZKFENCE_MARATHON_<FLAG> (--marathon is
// ZKFENCE_MARATHON_URL). A definition Marathon would refuse is printed as
// Marathon's 422 body on stdout, and the command fails.
//
// One file a subcommand: marathon_render.go, marathon_validate.go,
// marathon_conformance.go, and marathon_client.go for the ones that talk to
// Marathon, whose shared flags are in marathon_flags.go.

func marathonCommand() *cli.Command {
	return &cli.Command{
		Name:  "marathon",
		Usage: "render, validate and deploy Marathon apps and pods for a fenced database",
		Subcommands: []*cli.Command{
			marathonRenderCommand(),
			marathonValidateCommand(),
			marathonDeployCommand(),
			marathonTasksCommand(),
			marathonVolumesCommand(),
			marathonWipeCommand(),
			marathonConformanceCommand(),
		},
	}
}

// menv names the environment variable of a marathon flag: --ca-file is ZKFENCE_MARATHON_CA_FILE.
func menv(flag string) []string {
	return []string{"ZKFENCE_MARATHON_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))}
}

// readInput reads a file, or stdin for "-".
func readInput(c *cli.Context, name string) ([]byte, error) {
	var b []byte
	var err error
	if name == "-" {
		b, err = io.ReadAll(c.App.Reader)
	} else {
		b, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, refused("%v", err)
	}
	return b, nil
}

// oneArg is the command's single argument.
func oneArg(c *cli.Context, what string) (string, error) {
	if c.NArg() != 1 {
		return "", refused("want one argument, %s; got %d", what, c.NArg())
	}
	return c.Args().First(), nil
}

// definitionArg reads the definition file named by the command's single
// argument ("-" for stdin).
func definitionArg(c *cli.Context) (string, []byte, error) {
	name, err := oneArg(c, "the definition file")
	if err != nil {
		return "", nil, err
	}
	doc, err := readInput(c, name)
	if err != nil {
		return "", nil, err
	}
	return name, doc, nil
}

// reportInvalid prints a refusal as Marathon's 422 body and returns an error
// for the exit code; other errors pass through.
func reportInvalid(c *cli.Context, what string, err error) error {
	var ve *marathon.ValidationError
	var ae *marathon.APIError
	switch {
	case errors.As(err, &ve):
	case errors.As(err, &ae) && ae.ValidationError() != nil:
		ve = ae.ValidationError()
	case errors.Is(err, marathon.ErrBadInput):
		return refused("%s: %v", what, err)
	default:
		return err
	}
	if _, werr := fmt.Fprintf(c.App.Writer, "%s\n", ve.JSON()); werr != nil {
		return werr
	}
	n := 0
	for _, d := range ve.Details {
		n += len(d.Errors)
	}
	return refused("%s: Marathon would refuse it: %d error(s), listed above", what, n)
}
