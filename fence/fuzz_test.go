package fence

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzParse checks the fence record parser on arbitrary bytes: it never
// panics, every error is a corrupt record (the keeper's ErrFenced), and
// what it accepts is complete and survives a round trip. `go test` runs the
// seeds; a longer run:
//
//	go test -run '^$' -fuzz '^FuzzParse$' -fuzztime 5m ./fence/
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{"service":"/zkfence/db","token":7,"holder":"h/1","heartbeat":"2026-01-02T03:04:05Z","released":false}`,
		`{"service":"/s","token":1}`,
		`{"service":"","token":1}`,
		`{"service":"/s","token":-1}`,
		`{"service":"/s","token":9223372036854775807,"heartbeat":"9999-12-31T23:59:59Z"}`,
		`{"service":"/s","token":1e3}`,
		`{"token":"7"}`,
		`[]`, `null`, `{`, "\x00", "",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data)
		if err != nil {
			if !errors.Is(err, errCorrupt) || !errors.Is(readFailure(err), ErrFenced) {
				t.Fatalf("Parse error %v is not a corrupt record", err)
			}
			return
		}
		if r.Service == "" || r.Token <= 0 {
			t.Fatalf("Parse accepted an incomplete record %+v", r)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("an accepted record does not encode: %v", err)
		}
		again, err := Parse(b)
		if err != nil || again.Service != r.Service || again.Token != r.Token || again.Holder != r.Holder ||
			!again.Heartbeat.Equal(r.Heartbeat) || again.Released != r.Released {
			t.Fatalf("round trip: %+v -> %s -> %+v, %v", r, b, again, err)
		}
	})
}
