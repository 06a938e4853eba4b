package images

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTag(t *testing.T) {
	a := Spec{Name: "db-node", Packages: []string{"b", "a"}}
	b := Spec{Name: "db-node", Packages: []string{"a", "b"}}
	if a.Tag() != b.Tag() {
		t.Errorf("package order changes the tag: %s %s", a.Tag(), b.Tag())
	}
	if !strings.HasPrefix(a.Tag(), "zkfence-base/db-node:") || len(a.Tag()) != len("zkfence-base/db-node:")+12 {
		t.Errorf("tag %q", a.Tag())
	}
	for _, other := range []Spec{
		{Name: "db-node", Packages: []string{"a", "b", "c"}},
		{Name: "db-node", Packages: []string{"a", "b"}, Setup: "true"},
		{Name: "db-node", Packages: []string{"a", "b"}, Suite: "trixie"},
		{Name: "other", Packages: []string{"a", "b"}},
	} {
		if other.Tag() == a.Tag() {
			t.Errorf("%+v has the tag of %+v", other, a)
		}
	}
	if DBNode.Tag() != DBNode.Tag() {
		t.Error("DBNode's tag is not stable")
	}
}

func TestSpecRefused(t *testing.T) {
	for _, s := range []Spec{
		{Name: ""},
		{Name: "Upper"},
		{Name: "a/b"},
		{Name: "ok", Packages: []string{"postgresql; rm -rf /"}},
		{Name: "ok", Packages: []string{""}},
	} {
		if _, err := s.withDefaults(); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}

func TestLineLogger(t *testing.T) {
	var got []string
	l := &lineLogger{logf: func(f string, a ...any) { got = append(got, a[0].(string)+a[1].(string)) }, prefix: "> ",
		keep: func(s string) bool { return strings.HasPrefix(s, "Step") }}
	l.Write([]byte("Step 1\nnoise\r\nSt"))
	l.Write([]byte("ep 2\npartial"))
	if strings.Join(got, "|") != "> Step 1|> Step 2" {
		t.Errorf("logged %q", got)
	}
	if l.Tail() != "Step 1\nnoise\nStep 2\npartial" {
		t.Errorf("tail %q", l.Tail())
	}
}

func TestMountsUnder(t *testing.T) {
	got, err := mountsUnder("/proc")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[len(got)-1] != "/proc" {
		t.Errorf("mounts under /proc: %v, want /proc last (deepest first)", got)
	}
	if got, _ := mountsUnder(t.TempDir()); len(got) != 0 {
		t.Errorf("mounts under a new directory: %v", got)
	}
}

func TestHashTree(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a/x.go", "package a")
	write("go.mod", "module m")
	h1, err := hashTree(dir, "extra")
	if err != nil {
		t.Fatal(err)
	}
	if h2, _ := hashTree(dir, "extra"); h2 != h1 {
		t.Error("not deterministic")
	}
	if h3, _ := hashTree(dir, "other"); h3 == h1 {
		t.Error("extra strings do not count")
	}
	write("a/x.go", "package b")
	if h4, _ := hashTree(dir, "extra"); h4 == h1 {
		t.Error("a changed file does not count")
	}
	os.Chmod(filepath.Join(dir, "go.mod"), 0o755)
	write("a/x.go", "package a")
	if h5, _ := hashTree(dir, "extra"); h5 == h1 {
		t.Error("a changed mode does not count")
	}
}

func TestLockImage(t *testing.T) {
	name := "zkfence-test/lock:" + filepath.Base(t.TempDir())
	unlock, err := lockImage(context.Background(), name, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*lockPoll)
	defer cancel()
	if _, err := lockImage(ctx, name, t.Logf); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock while held: %v, want a timeout", err)
	}
	unlock()
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	unlock, err = lockImage(ctx, name, t.Logf)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	unlock()
	os.Remove(filepath.Join(lockDir(), strings.NewReplacer("/", "_", ":", "_").Replace(name)+".lock"))
}
