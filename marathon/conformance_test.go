package marathon

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// corpusDir is ../shared/marathon-corpus from the repository root.
const corpusDir = "../../shared/marathon-corpus"

// expectedPaths are the error paths EXPECTED.md gives for invalid cases
// (Marathon's path of the pinned error, or the RAML-level path when it
// gives both a state-level and a RAML-level one).
var expectedPaths = map[string]string{
	"invalid/podsresource-max-over-capacity-0.1.json":               "/upgrade/maximumOverCapacity",
	"invalid/podsresource-accepted-resource-roles-not-star.json":    "/acceptedResourceRoles",
	"invalid/podsvalidation-unreachable-enabled.json":               "/",
	"invalid/podsvalidation-max-over-capacity-0.1.json":             "/upgrade/maximumOverCapacity",
	"invalid/appsresource-resident-app-role-star.json":              "/role",
	"invalid/appsresource-broken-volume-wrong-field-name.json":      "/container/volumes(0)/hostPath",
	"invalid/runspec-resident-app-accepted-roles-foo.json":          "/acceptedResourceRoles",
	"invalid/container-persistent-size-0.json":                      "/container/volumes(0)/persistent/size",
	"invalid/container-persistent-containerpath-leading-slash.json": "/container/volumes(0)/containerPath",
	"invalid/update-resident-app-volume-size-change.json":           "/",
	"invalid/update-resident-app-cpus-change.json":                  "/cpus",
	"invalid/update-resident-app-host-port-change.json":             "/",
	"invalid/update-resident-app-default-upgrade-strategy.json":     "/upgradeStrategy/maximumOverCapacity",
	"invalid/update-resident-pod-cpus-change.json":                  "/",
	"invalid/update-resident-pod-volume-size-change.json":           "/",
	"invalid/podsresource-role-change-without-force.json":           "/role",
}

func loadCorpus(t *testing.T) []Case {
	t.Helper()
	if _, err := os.Stat(filepath.Join(corpusDir, "cases.tsv")); err != nil {
		t.Fatalf("the conformance corpus must be at %s (../shared/marathon-corpus from the repository root): %v", corpusDir, err)
	}
	cases, err := LoadCases(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

// TestConformance checks every case of the corpus: the outcome, the pinned
// message, and the path EXPECTED.md gives. It logs the agreement table.
func TestConformance(t *testing.T) {
	cases := loadCorpus(t)
	if len(cases) != 59 {
		t.Errorf("cases.tsv has %d cases, EXPECTED.md counts 59", len(cases))
	}
	var results []CaseResult
	for _, c := range cases {
		r := RunCase(corpusDir, c)
		results = append(results, r)
		t.Run(c.File, func(t *testing.T) {
			if !r.Agreed {
				t.Fatalf("%s (%s, %s): %s", c.File, c.Kind, c.Rules, r.Why)
			}
			path, ok := expectedPaths[c.File]
			if !ok {
				return
			}
			var ve *ValidationError
			if !errors.As(r.Err, &ve) {
				t.Fatalf("want a ValidationError, got %v", r.Err)
			}
			if !ve.Has(path, c.Message) {
				t.Errorf("want %q at %s, got %s", c.Message, path, ve.JSON())
			}
		})
	}
	t.Logf("conformance with Marathon:\n%s", ConformanceTable(results))
}

// TestExpectedPathsAreCases keeps the path table in step with the corpus.
func TestExpectedPathsAreCases(t *testing.T) {
	files := map[string]bool{}
	for _, c := range loadCorpus(t) {
		files[c.File] = !c.Valid
	}
	for f := range expectedPaths {
		if !files[f] {
			t.Errorf("%s is not an invalid case of the corpus", f)
		}
	}
}
