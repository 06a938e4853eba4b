package main

import (
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestHelpGivesOneDefault: no flag's help line states a default twice, once
// in its usage text and once from its value (urfave/cli appends
// "(default: V)" for any non-empty value; DefaultText sets what it says).
func TestHelpGivesOneDefault(t *testing.T) {
	var walk func(path string, cmds []*cli.Command)
	walk = func(path string, cmds []*cli.Command) {
		for _, c := range cmds {
			for _, f := range c.Flags {
				if line := cli.FlagStringer(f); strings.Count(line, "(default") > 1 {
					t.Errorf("%s %s: %s", path, c.Name, line)
				}
			}
			walk(path+" "+c.Name, c.Subcommands)
		}
	}
	walk("zkfence", commands())
}

func TestMarathonRenderHelpDefaults(t *testing.T) {
	out, _, _ := runMarathon(t, "", "render", "--help")
	for flag, want := range map[string]string{"--cpus": "CPUs (default: 1)", "--mem": "memory in MiB (default: 1024)",
		"--disk": "sandbox disk in MiB (default: 0)"} {
		found := false
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, flag+" ") {
				found = strings.Contains(l, want)
				if !found {
					t.Errorf("help line %q, want %q", l, want)
				}
			}
		}
		if !found && !t.Failed() {
			t.Errorf("no help line for %s in\n%s", flag, out)
		}
	}
}
