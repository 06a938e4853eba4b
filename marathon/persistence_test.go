package marathon

import (
	"errors"
	"testing"
)

func TestPersistenceID(t *testing.T) {
	for _, tt := range []struct {
		text string
		id   PersistenceID
	}{
		// From Marathon's docs (persistent-volumes.md, "Inspect/delete suspended stateful tasks").
		{"postgres#pgdata#53ab8732-fd96-11e5-8e70-76a1c19f8c3d",
			PersistenceID{ServiceID: "/postgres", Volume: "pgdata", UUID: "53ab8732-fd96-11e5-8e70-76a1c19f8c3d"}},
		{"db_orders.v2_pg#data#0f8e", PersistenceID{ServiceID: "/db/orders.v2/pg", Volume: "data", UUID: "0f8e"}},
		{"a#odd#name#u", PersistenceID{ServiceID: "/a", Volume: "odd#name", UUID: "u"}},
	} {
		got, err := ParsePersistenceID(tt.text)
		if err != nil || got != tt.id {
			t.Errorf("ParsePersistenceID(%q) = %+v, %v; want %+v", tt.text, got, err, tt.id)
		}
		if s := tt.id.String(); s != tt.text {
			t.Errorf("String() = %q, want %q", s, tt.text)
		}
	}
	for _, bad := range []string{"", "postgres", "postgres#pgdata", "#pgdata#u", "postgres##u", "postgres#pgdata#", "Post_gres#d#u", "a__b#d#u"} {
		if _, err := ParsePersistenceID(bad); !errors.Is(err, ErrBadInput) {
			t.Errorf("ParsePersistenceID(%q): want ErrBadInput, got %v", bad, err)
		}
	}
}
