package marathon

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzValidate feeds any bytes to Validate as every kind under every rule
// set. It must never panic, and it must answer nil, a ValidationError with
// at least one error, or ErrBadInput. The seeds are the files of both
// corpora (local and external volumes).
//
//	go test -run '^$' -fuzz FuzzValidate -fuzztime 60s ./marathon
func FuzzValidate(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*", "*.json"))
	external, _ := filepath.Glob(filepath.Join(externalCorpusDir, "*", "*.json"))
	if len(files) == 0 || len(external) == 0 {
		f.Fatalf("no seeds: the corpus must be at %s", corpusDir)
	}
	for _, name := range append(files, external...) {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(0))
	}
	f.Add([]byte(`{"from": {"id": "/a", "container": {"volumes": [{"persistent": {"size": 1}}]}}, "to": {}}`), uint8(4))
	kinds := []Kind{KindApp, KindPod, KindVolume, KindContainer, KindAppUpdate, KindPodUpdate}
	ruleSets := []Options{{}, {Rules: RulesSchema}, {Rules: RulesLegacy}, {MesosRole: "foo", PreviousRole: "*"},
		{MesosRole: "foo", Features: []string{featureExternalVolumes}}}
	f.Fuzz(func(t *testing.T, data []byte, pick uint8) {
		opts := ruleSets[int(pick)%len(ruleSets)]
		for _, kind := range kinds {
			checkAnswer(t, kind, Validate(kind, data, opts))
		}
		checkAnswer(t, KindApp, ValidateUpdate(KindApp, data, data, opts))
		checkAnswer(t, KindPod, ValidateUpdate(KindPod, data, data, opts))
		var a App
		if json.Unmarshal(data, &a) == nil {
			if _, err := json.Marshal(a); err != nil {
				t.Fatalf("an app that reads does not write: %v", err)
			}
		}
	})
}

func checkAnswer(t *testing.T, kind Kind, err error) {
	t.Helper()
	var ve *ValidationError
	switch {
	case err == nil, errors.Is(err, ErrBadInput):
	case errors.As(err, &ve):
		if len(ve.Details) == 0 || !json.Valid(ve.JSON()) {
			t.Fatalf("%s: empty or broken ValidationError %#v", kind, ve)
		}
	default:
		t.Fatalf("%s: unexpected error %T: %v", kind, err, err)
	}
}
