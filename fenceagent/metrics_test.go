package fenceagent

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// gatherText is m as /metrics would show it.
func gatherText(t *testing.T, m *Metrics) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

func TestMetrics(t *testing.T) {
	f, a := newFake(t)
	a.Metrics = NewMetrics()
	f.codes("status", 2)
	if err := a.Off(context.Background(), "n1"); err != nil {
		t.Fatal(err)
	}
	f.codes("status", 0)
	_ = a.Off(context.Background(), "n1")
	f.codes("off", 1)
	_ = a.Off(context.Background(), "n1")
	_ = a.Off(context.Background(), "bad\nplug")
	text := gatherText(t, a.Metrics)
	for _, result := range []string{"success", "not_confirmed", "failed", "invalid"} {
		want := `zkfence_fence_actions_total{action="off",result="` + result + `"} 1` + "\n"
		if !strings.Contains(text, want) {
			t.Errorf("no %s in\n%s", want, text)
		}
	}
	if strings.Contains(text, `result="timeout"`) {
		t.Errorf("a timeout counted:\n%s", text)
	}
	if !strings.Contains(text, `zkfence_fence_action_duration_seconds_count{action="off"} 4`) {
		t.Fatalf("duration histogram:\n%s", text)
	}
	if strings.Contains(text, "n1") {
		t.Fatalf("a plug became a label:\n%s", text)
	}
}
