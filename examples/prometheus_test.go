package examples

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/zkfence/zkfence/fenceagent"
	"github.com/zkfence/zkfence/health"
)

const (
	rulesFile     = "prometheus/zkfence-rules.yml"
	rulesTestFile = "prometheus/zkfence-rules.test.yml"
)

// TestPrometheusRules checks the alerting rules with promtool (Debian's
// prometheus package, scripts/install-deps.sh) and runs their unit tests.
func TestPrometheusRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: install Debian's prometheus package (scripts/install-deps.sh)")
	}
	for _, args := range [][]string{{"check", "rules", rulesFile}, {"test", "rules", rulesTestFile}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestPrometheusRulesEveryAlertTested: each alert has a unit test in which it
// fires.
func TestPrometheusRulesEveryAlertTested(t *testing.T) {
	rules, tests := readFile(t, rulesFile), readFile(t, rulesTestFile)
	alerts := regexp.MustCompile(`(?m)^\s*- alert: (\w+)`).FindAllStringSubmatch(rules, -1)
	if len(alerts) == 0 {
		t.Fatalf("no alert in %s", rulesFile)
	}
	for _, a := range alerts {
		fires := regexp.MustCompile(`alertname: ` + a[1] + `\s+exp_alerts:\s+- exp_labels`)
		if !fires.MatchString(tests) {
			t.Errorf("%s: no test in %s where it fires", a[1], rulesTestFile)
		}
	}
}

// TestPrometheusRulesNameExportedMetrics: every metric the rules name is one
// that zkfence's /metrics serves (health's registry), scraped after a State
// went through a whole run so that every family has a sample.
func TestPrometheusRulesNameExportedMetrics(t *testing.T) {
	exported := scrapeFamilies(t)
	var code []string
	for _, l := range strings.Split(readFile(t, rulesFile), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			code = append(code, l)
		}
	}
	named := map[string]bool{}
	for _, m := range regexp.MustCompile(`\b(?:zkfence|process|go)_[a-z_]+\b`).FindAllString(strings.Join(code, "\n"), -1) {
		named[m] = true
	}
	if len(named) < 8 {
		t.Fatalf("the rules name %d metrics: %v", len(named), named)
	}
	for m := range named {
		if !exported[m] {
			t.Errorf("the rules name %s, which zkfence does not export", m)
		}
	}
}

// scrapeFamilies serves a State's metrics on loopback and returns the names
// a query can use: every family, and a histogram's _bucket, _sum, _count.
// The fence agent's metrics are registered as zkfence run registers them
// with a fence agent (cmd/zkfence/fencing.go), and get a sample from a
// monitor action that fails.
func scrapeFamilies(t *testing.T) map[string]bool {
	t.Helper()
	st := health.NewState("/zkfence/test")
	agent := &fenceagent.Agent{Path: "/bin/false", Metrics: fenceagent.NewMetrics(), Timeout: 10 * time.Second}
	st.Register(agent.Metrics)
	if err := agent.Monitor(context.Background()); !errors.Is(err, fenceagent.ErrAgentFailed) {
		t.Fatalf("monitor with /bin/false: %v", err)
	}
	st.Waiting(1, "_c_x-lock-0000000001")
	st.Acquired(42, "host", func() time.Time { return time.Now().Add(time.Minute) })
	st.Renewal(time.Millisecond, nil)
	st.Renewal(0, errors.New("connection lost"))
	st.Mounts(true, nil, time.Millisecond)
	st.Mounts(false, errors.New("ENOTCONN"), time.Millisecond)
	st.Restored(1<<20, time.Second)
	st.RestoreFailed()
	st.BackedUp(nil, time.Now())
	st.BackedUp(errors.New("pg_basebackup: exit status 1"), time.Now())
	st.ChildStarted(os.Getpid())
	st.Stopping("lock", nil)
	srv, err := health.Listen("127.0.0.1:0", st)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	resp, err := http.Get("http://" + srv.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	names := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			names[f[2]] = true
			if f[3] == "histogram" {
				names[f[2]+"_bucket"], names[f[2]+"_sum"], names[f[2]+"_count"] = true, true, true
			}
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	var zk []string
	for n := range names {
		if strings.HasPrefix(n, "zkfence_") {
			zk = append(zk, n)
		}
	}
	sort.Strings(zk)
	if len(zk) < 12 {
		t.Fatalf("/metrics serves %d zkfence families: %v", len(zk), zk)
	}
	return names
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
