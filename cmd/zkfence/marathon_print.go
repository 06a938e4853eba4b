package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/zkfence/zkfence/marathon"
)

// How tasks and volumes print what Marathon answers: a table, or --json.

func volumeIDs(vs []marathon.LocalVolume) string {
	if len(vs) == 0 {
		return "-"
	}
	ids := make([]string, len(vs))
	for i, v := range vs {
		ids[i] = v.PersistenceID
	}
	return strings.Join(ids, ",")
}

// taskVolumes lists a task's local volumes (persistence IDs) and its
// app's external volumes (provider/driver:name).
func taskVolumes(local []marathon.LocalVolume, ext []marathon.ExternalVolume) string {
	if len(ext) == 0 {
		return volumeIDs(local)
	}
	s := externalNames(ext)
	if len(local) > 0 {
		s = volumeIDs(local) + "," + s
	}
	return s
}

func externalNames(ext []marathon.ExternalVolume) string {
	names := make([]string, len(ext))
	for i, v := range ext {
		names[i] = v.String()
	}
	return strings.Join(names, ",")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}
