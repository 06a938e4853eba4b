package fenceagent

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

const fakeMetadata = `cat <<'XML'
<?xml version="1.0" ?>
<resource-agent name="fence_fake" shortdesc="Fake">
<parameters>
	<parameter name="action" unique="0" required="1"><content type="string" default="reboot"/></parameter>
	<parameter name="ip" unique="0" required="1"><content type="string"/></parameter>
	<parameter name="api_version" unique="0" required="0"><content type="string"/></parameter>
	<parameter name="plug" unique="0" required="1"><content type="string"/></parameter>
</parameters>
<actions>
	<action name="on" automatic="%s"/>
	<action name="off" />
	<action name="status" />
	%s
	<action name="metadata" />
</actions>
</resource-agent>
XML
`

func TestCheck(t *testing.T) {
	f, a := newFake(t)
	f.hook("metadata", strings.Replace(strings.Replace(fakeMetadata, "%s", "0", 1), "%s", `<action name="monitor" />`, 1))
	a.Options = []Option{{Name: "ip", Ref: "127.0.0.1"}, {Name: "api-version", Ref: "1.41"}}
	m, err := a.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "fence_fake" || m.NeedsUnfencing() || !m.Has("monitor") || !m.Knows("api-version") {
		t.Fatalf("metadata %+v", m)
	}
	if got := f.actions(); !slices.Equal(got, []string{"metadata", "monitor"}) {
		t.Fatalf("actions %v", got)
	}

	f.codes("monitor", 1)
	if _, err := a.Check(context.Background()); !errors.Is(err, ErrAgentFailed) {
		t.Fatalf("Check with a failing monitor = %v", err)
	}

	a.Options = append(a.Options, Option{Name: "ipadress", Ref: "x"})
	if _, err := a.Check(context.Background()); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "ipadress") {
		t.Fatalf("Check with a mistyped option = %v", err)
	}
}

func TestCheckStorageAgentWithoutMonitor(t *testing.T) {
	f, a := newFake(t)
	f.hook("metadata", strings.Replace(strings.Replace(fakeMetadata, "%s", "1", 1), "%s", "", 1))
	m, err := a.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !m.NeedsUnfencing() || m.Has("monitor") {
		t.Fatalf("metadata %+v", m)
	}
	if got := f.actions(); !slices.Equal(got, []string{"metadata"}) {
		t.Fatalf("actions %v: no monitor to run", got)
	}
}

func TestCheckNoOff(t *testing.T) {
	f, a := newFake(t)
	md := strings.Replace(strings.Replace(fakeMetadata, "%s", "0", 1), "%s", "", 1)
	f.hook("metadata", strings.Replace(md, `<action name="off" />`, "", 1))
	if _, err := a.Check(context.Background()); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Check = %v", err)
	}
}

// An agent without metadata passes when monitor succeeds, fails when not.
func TestCheckNoMetadata(t *testing.T) {
	f, a := newFake(t)
	f.codes("metadata", 1)
	if m, err := a.Check(context.Background()); err != nil || m != nil {
		t.Fatalf("Check = %v, %v", m, err)
	}
	f.hook("metadata", `echo "not xml"`)
	f.codes("metadata", 0)
	f.codes("monitor", 4)
	if _, err := a.Check(context.Background()); !errors.Is(err, ErrAgentFailed) || !strings.Contains(err.Error(), "no metadata") {
		t.Fatalf("Check = %v", err)
	}
}

func TestParseRealMetadata(t *testing.T) {
	// The shape of fence-agents 4.12's metadata (abridged from fence_scsi).
	m, err := parseMetadata([]byte(`<?xml version="1.0" ?>
<resource-agent name="fence_scsi" shortdesc="Fence agent for SCSI persistent reservation" >
<longdesc>...</longdesc>
<parameters>
	<parameter name="plug" unique="0" required="1" obsoletes="port"><getopt mixed="-n, --plug=[id]" /></parameter>
	<parameter name="devices" unique="0" required="0"><getopt mixed="-d, --devices=[devices]" /></parameter>
</parameters>
<actions>
	<action name="on" on_target="1" automatic="1"/>
	<action name="off" />
	<action name="status" />
	<action name="monitor" />
</actions>
</resource-agent>`))
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "fence_scsi" || !m.NeedsUnfencing() || !m.Knows("devices") || m.Knows("ip") || len(m.Actions) != 4 {
		t.Fatalf("%+v", m)
	}
}
