package marathon

import (
	"errors"
	"testing"
)

// externalCorpusDir is the project's own corpus of external-volume cases,
// in the format of ../shared/marathon-corpus (README.md there names the
// Marathon source of every file).
const externalCorpusDir = "testdata/corpus-external"

// externalPaths are the error paths of invalid external cases, from
// Marathon's tests (AppsResourceTest asserts them) or from the validator's
// description in Marathon's source (EXPECTED.md says which).
var externalPaths = map[string]string{
	"invalid/appsresource-illegal-provider.json":                "/container/volumes(0)/external/provider",
	"invalid/appsresource-no-name-no-provider.json":             "/container/volumes(0)/external/provider",
	"invalid/appsresource-mesos-dotted-containerpath.json":      "/container/volumes(0)/containerPath",
	"invalid/appsresource-rexray-iops-0.json":                   `/container/volumes(0)/external/options/"dvdi/iops"`,
	"invalid/appsresource-docker-no-driver.json":                `/container/volumes(0)/external/options("dvdi/driver")`,
	"invalid/appsresource-docker-with-size.json":                "/container/volumes(0)/external/size",
	"invalid/docs-app-mesos-rexray-feature-disabled.json":       "/container/volumes(0)",
	"invalid/docs-app-mesos-rexray-two-instances.json":          "/",
	"invalid/docs-app-mesos-rexray-over-capacity.json":          "/upgradeStrategy/maximumOverCapacity",
	"invalid/docs-app-mesos-rexray-mode-ro.json":                "/container/volumes(0)/mode",
	"invalid/docs-app-mesos-rexray-same-volume-twice.json":      "/container/volumes",
	"invalid/docs-app-docker-rexray-driver-options.json":        "/container/volumes(0)/external/options",
	"invalid/docs-container-shared-volume-string.json":          "/container/volumes(0)/external/shared",
	"invalid/volume-dvdi-driver-option-misspelt.json":           `/container/volumes(0)/external/options("dvdi/driver")`,
	"invalid/volume-dvdi-rexray-volumetype-trailing-space.json": `/container/volumes(0)/external/options/"dvdi/volumetype"`,
	"invalid/volume-dvdi-rexray-iops-0.json":                    `/container/volumes(0)/external/options/"dvdi/iops"`,
	"invalid/volume-dvdi-rexray-overwritefs-not-a-boolean.json": `/container/volumes(0)/external/options/"dvdi/overwritefs"`,
	"invalid/volume-dvdi-provider-qaz.json":                     "/container/volumes(0)/external/provider",
	"invalid/volume-dvdi-name-empty.json":                       "/container/volumes(0)/external/name",
}

// TestConformanceExternal checks every external-volume case: the outcome,
// the pinned message and, where known, the path.
func TestConformanceExternal(t *testing.T) {
	cases, err := LoadCases(externalCorpusDir)
	if err != nil {
		t.Fatal(err)
	}
	valid, invalid := 0, 0
	var results []CaseResult
	for _, c := range cases {
		if c.Valid {
			valid++
		} else {
			invalid++
		}
		r := RunCase(externalCorpusDir, c)
		results = append(results, r)
		t.Run(c.File, func(t *testing.T) {
			if !r.Agreed {
				t.Fatalf("%s (%s, %s): %s", c.File, c.Kind, c.Rules, r.Why)
			}
			path, ok := externalPaths[c.File]
			if !ok {
				return
			}
			var ve *ValidationError
			if !errors.As(r.Err, &ve) || !ve.Has(path, c.Message) {
				t.Errorf("want %q at %s, got %v", c.Message, path, r.Err)
			}
		})
	}
	if valid != 23 || invalid != 29 {
		t.Errorf("cases.tsv has %d valid and %d invalid cases, EXPECTED.md counts 23 and 29", valid, invalid)
	}
	for f := range externalPaths {
		found := false
		for _, c := range cases {
			found = found || (c.File == f && !c.Valid)
		}
		if !found {
			t.Errorf("%s is not an invalid case of the corpus", f)
		}
	}
	t.Logf("conformance with Marathon, external volumes:\n%s", ConformanceTable(results))
}
