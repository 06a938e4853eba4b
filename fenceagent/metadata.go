package fenceagent

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Metadata is what an agent says of itself (action=metadata, the XML that
// Pacemaker reads).
type Metadata struct {
	Name       string   `xml:"name,attr"`
	Parameters []string // parameter names, as the agent spells them (ip, ipport, ssl_insecure)
	Actions    []MetadataAction
}

// MetadataAction is one <action> of the metadata.
type MetadataAction struct {
	Name      string `xml:"name,attr"`
	Automatic string `xml:"automatic,attr"`
	OnTarget  string `xml:"on_target,attr"`
}

// Has says whether the agent lists action.
func (m *Metadata) Has(action string) bool {
	return slices.ContainsFunc(m.Actions, func(x MetadataAction) bool { return x.Name == action })
}

// NeedsUnfencing: the agent fences at the storage and a node must run
// action=on for itself before it uses the device (Pacemaker's rule:
// action on marked automatic="1").
func (m *Metadata) NeedsUnfencing() bool {
	return slices.ContainsFunc(m.Actions, func(x MetadataAction) bool { return x.Name == "on" && x.Automatic == "1" })
}

// Knows says whether name is one of the agent's parameters; fencing.py
// takes - and _ as the same.
func (m *Metadata) Knows(name string) bool {
	n := strings.ReplaceAll(name, "-", "_")
	return slices.ContainsFunc(m.Parameters, func(p string) bool { return strings.ReplaceAll(p, "-", "_") == n })
}

func parseMetadata(b []byte) (*Metadata, error) {
	var doc struct {
		XMLName    xml.Name `xml:"resource-agent"`
		Name       string   `xml:"name,attr"`
		Parameters []struct {
			Name string `xml:"name,attr"`
		} `xml:"parameters>parameter"`
		Actions []MetadataAction `xml:"actions>action"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	m := &Metadata{Name: doc.Name, Actions: doc.Actions}
	for _, p := range doc.Parameters {
		m.Parameters = append(m.Parameters, p.Name)
	}
	return m, nil
}

// Metadata runs action=metadata and parses its XML.
func (a *Agent) Metadata(ctx context.Context) (*Metadata, error) {
	ctx, cancel := a.withDeadline(ctx)
	defer cancel()
	r, err := a.run(ctx, "metadata", "", true)
	if err != nil {
		return nil, err
	}
	if r.code != 0 {
		return nil, fmt.Errorf("%w: action=metadata exited %d; %s", ErrAgentFailed, r.code, lastLines(r.output, 5))
	}
	m, err := parseMetadata(r.stdout)
	if err != nil {
		return nil, fmt.Errorf("%w: action=metadata: not a fence agent's metadata: %v", ErrAgentFailed, err)
	}
	return m, nil
}

// Check is what `zkfence check` asks of an agent, fencing nobody: its
// metadata lists off and status and knows every option; then, when it
// lists monitor, action=monitor succeeds (the agent reaches its device). An
// agent without metadata passes when action=monitor succeeds. The metadata
// is returned when the agent gave one (NeedsUnfencing tells the caller to
// run On for itself).
func (a *Agent) Check(ctx context.Context) (m *Metadata, err error) {
	start := time.Now()
	defer func() { a.observe("check", start, err) }()
	m, mdErr := a.Metadata(ctx)
	if mdErr != nil {
		if errors.Is(mdErr, context.Canceled) {
			return nil, mdErr
		}
		if err := a.Monitor(ctx); err != nil {
			return nil, fmt.Errorf("no metadata (%w) and monitor failed: %w", mdErr, err)
		}
		a.log().Warn("fence agent gave no metadata; monitor succeeded", "err", mdErr)
		return nil, nil
	}
	for _, action := range []string{"off", "status"} {
		if !m.Has(action) {
			return m, fmt.Errorf("%w: %s does not list action %s", ErrUnsupported, m.Name, action)
		}
	}
	for _, o := range a.Options {
		if !m.Knows(o.Name) {
			return m, invalidf("fence option %s: %s has no such parameter", o.Name, m.Name)
		}
	}
	if !m.Has("monitor") {
		return m, nil
	}
	return m, a.Monitor(ctx)
}
