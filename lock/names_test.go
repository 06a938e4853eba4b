package lock

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseContender(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
		seq  int64
	}{
		{"_c_8d7f0c4e-2a1b-4c3d-9e8f-0123456789ab-lock-0000000007", true, 7},
		{"lock-0000000003", false, 0}, // Curator always puts a dash before "lock-"
		{"x-lock-0000000003", true, 3},
		{"2b1c3d4e5f60718293a4b5c6d7e8f901__lock__0000000012", true, 12},
		{"leases", false, 0},
		{"_c_abc-lock-12", false, 0},         // not 10 digits
		{"_c_abc-lock-00000000x1", false, 0}, // not a number
		{"__lock__", false, 0},
	}
	for _, tt := range tests {
		got, ok := parseContender(tt.name)
		if ok != tt.ok || (ok && got.Seq != tt.seq) {
			t.Errorf("parseContender(%q) = %+v, %v; want seq %d, %v", tt.name, got, ok, tt.seq, tt.ok)
		}
	}
}

func TestSortedContendersMixesKinds(t *testing.T) {
	children := []string{
		"_c_b-lock-0000000005",
		"config",
		"abc__lock__0000000002",
		"_c_a-lock-0000000009",
		"x-lock-0000000001",
	}
	var names []string
	for _, c := range sortedContenders(children) {
		names = append(names, c.Name)
	}
	want := []string{"x-lock-0000000001", "abc__lock__0000000002", "_c_b-lock-0000000005", "_c_a-lock-0000000009"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("order = %v, want %v", names, want)
	}
}

func TestNewNodePrefixIsCuratorShaped(t *testing.T) {
	prefix, id := newNodePrefix()
	if !strings.HasPrefix(prefix, "_c_"+id) || !strings.HasSuffix(prefix, "-lock-") || len(id) != 36 {
		t.Fatalf("prefix %q id %q", prefix, id)
	}
	if got, ok := findByID([]string{"other", prefix + "0000000001"}, id); !ok || got != prefix+"0000000001" {
		t.Fatalf("findByID = %q, %v", got, ok)
	}
}
