package marathon

import (
	"errors"
	"fmt"
	"testing"
)

// TestExternalRulesOneByOne: each rule of validate_external.go, on the
// docs' Mesos app with one member changed, at Marathon's path.
func TestExternalRulesOneByOne(t *testing.T) {
	const base = `{"id": "/hello", "cmd": "sleep 1", "container": {"type": "%s", %s "volumes": [%s]}}`
	vol := func(ext string) string { return `{"containerPath": "data", "mode": "RW", "external": ` + ext + `}` }
	for _, tt := range []struct {
		name, ctype, docker, vols, path, msg string
	}{
		{"name missing on dvdi", "MESOS", "", vol(`{"provider": "dvdi", "options": {"dvdi/driver": "rexray"}}`),
			"/container/volumes(0)/external/name", "not defined"},
		{"provider not a label", "MESOS", "", vol(`{"name": "v", "provider": "DVDI", "options": {"dvdi/driver": "rexray"}}`),
			"/container/volumes(0)/external/provider", "must match regular expression"},
		{"driver not a label", "MESOS", "", vol(`{"name": "v", "provider": "dvdi", "options": {"dvdi/driver": "Rex Ray"}}`),
			`/container/volumes(0)/external/options("dvdi/driver")`, "must match regular expression"},
		{"overwritefs", "MESOS", "", vol(`{"name": "v", "provider": "dvdi", "options": {"dvdi/driver": "rexray", "dvdi/overwritefs": "yes"}}`),
			`/container/volumes(0)/external/options/"dvdi/overwritefs"`, "Expected a valid boolean"},
		{"docker dotdot", "DOCKER", `"docker": {"image": "x"},`, `{"containerPath": "..", "mode": "RW", "external": {"name": "v", "provider": "dvdi", "options": {"dvdi/driver": "rexray"}}}`,
			"/container/volumes(0)/containerPath", "can not be one of (.,..)"},
		{"two names, one shared", "MESOS", "", vol(`{"name": "v", "provider": "dvdi", "options": {"dvdi/driver": "pxd"}}`) + "," +
			`{"containerPath": "b", "external": {"name": "v", "provider": "dvdi", "shared": true, "options": {"dvdi/driver": "pxd"}}}`,
			"/container/volumes", "Volume names must be unique"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doc := []byte(sprintf(base, tt.ctype, tt.docker, tt.vols))
			err := Validate(KindApp, doc, externalFeatures)
			var ve *ValidationError
			if !errors.As(err, &ve) || !ve.Has(tt.path, tt.msg) {
				t.Fatalf("want %q at %s, got %v", tt.msg, tt.path, err)
			}
		})
	}
	// The rexray rules are for rexray only; shared volumes are left out of
	// the app's own "declared more than once" rule.
	ok := []byte(sprintf(base, "MESOS", "", vol(`{"name": "v", "provider": "dvdi", "options": {"dvdi/driver": "pxd", "dvdi/iops": "0"}}`)))
	if err := Validate(KindApp, ok, externalFeatures); err != nil {
		t.Fatalf("iops 0 for a driver other than rexray: %v", err)
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
