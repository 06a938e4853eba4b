package restore

import (
	"errors"
	"io/fs"
	"math"
	"path"
	"strings"
	"testing"
)

// The fuzz tests run their seeds in every `go test`; longer runs:
//
//	go test -run '^$' -fuzz '^FuzzParseManifest$' -fuzztime 5m ./restore/
//	go test -run '^$' -fuzz '^FuzzParseCommit$' -fuzztime 5m ./restore/

// FuzzParseManifest checks the manifest parser on arbitrary bytes: it never
// panics, every error wraps ErrCorrupt, and an accepted manifest can only
// write inside the staging directory: every path is local and clean, seen
// once, its parent listed before it, and the sizes add up.
func FuzzParseManifest(f *testing.F) {
	sum := strings.Repeat("0", 64)
	for _, seed := range []string{
		`{"format":1,"engine":"postgres","dirs":[{"path":".","mode":448},{"path":"base","mode":448}],` +
			`"files":[{"path":"PG_VERSION","size":1,"sha256":"` + sum + `","mode":384},` +
			`{"path":"base/1","size":2,"sha256":"` + sum + `","mode":384}],"bytes":3,"complete":true}`,
		`{"format":1,"engine":"mysql","dirs":[{"path":"mysql"}],"files":[],"bytes":0}`,
		`{"format":1,"engine":"postgres","files":[{"path":"../x","size":0,"sha256":"` + sum + `"}]}`,
		`{"format":1,"engine":"postgres","files":[{"path":"/etc/passwd","size":0,"sha256":"` + sum + `"}]}`,
		`{"format":1,"engine":"postgres","dirs":[{"path":"a/b"},{"path":"a"}]}`,
		`{"format":1,"engine":"postgres","files":[{"path":"x","size":9223372036854775807,"sha256":"` + sum + `"},` +
			`{"path":"y","size":9223372036854775807,"sha256":"` + sum + `"}],"bytes":-2}`,
		`{"format":2}`, `[]`, `null`, `{`, "",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseManifest(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("parseManifest error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if _, ok := engines[m.Engine]; !ok || m.Format != FormatVersion {
			t.Fatalf("accepted engine %q format %d", m.Engine, m.Format)
		}
		seen := map[string]bool{".": true}
		var total int64
		check := func(p string, dir bool) {
			if p == "." && dir {
				return
			}
			if !fs.ValidPath(p) || p == "." || path.Clean(p) != p || strings.HasPrefix(p, "/") {
				t.Fatalf("accepted path %q", p)
			}
			if !seen[path.Dir(p)] {
				t.Fatalf("accepted %q before its directory", p)
			}
			seen[p] = true
		}
		for _, d := range m.Dirs {
			check(d.Path, true)
		}
		for _, f := range m.Files {
			check(f.Path, false)
			if f.Size < 0 || len(f.SHA256) != 64 || f.Size > math.MaxInt64-total {
				t.Fatalf("accepted file %+v (sizes so far %d)", f, total)
			}
			total += f.Size
		}
		if total != m.Bytes {
			t.Fatalf("accepted bytes %d, files add up to %d", m.Bytes, total)
		}
	})
}

// FuzzParseCommit checks the commit record parser: it never panics, and an
// accepted record names only entries directly in the data directory, and an
// owner and a mode the data directory may get.
func FuzzParseCommit(f *testing.F) {
	for _, seed := range []string{
		`{"engine":"postgres","entries":["base","PG_VERSION"],"token":41,"uid":0,"gid":0,"mode":448}`,
		`{"entries":["../x"],"token":1,"mode":448}`,
		`{"entries":["a/b"],"token":1,"mode":448}`,
		`{"entries":["."],"token":1,"mode":448}`,
		`{"entries":["x"],"token":1,"uid":-2,"mode":448}`,
		`{"entries":["x"],"token":1,"mode":4095}`,
		`{"entries":[]}`, `{`, "",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := parseCommit(data)
		if err != nil {
			return
		}
		for _, n := range rec.Entries {
			if !fs.ValidPath(n) || n == "." || strings.Contains(n, "/") {
				t.Fatalf("accepted entry %q", n)
			}
		}
		if len(rec.Entries) == 0 || rec.UID < -1 || rec.GID < -1 || rec.Mode&^0o777 != 0 || rec.Mode&0o700 != 0o700 {
			t.Fatalf("accepted %+v", rec)
		}
	})
}
