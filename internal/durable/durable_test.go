package durable

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWriteFileReplacesWholeAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	for _, content := range []string{"first", "second, longer"} {
		if err := WriteFile(dir, "f", []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, "f"))
		if err != nil || string(got) != content {
			t.Fatalf("read %q, %v; want %q", got, err, content)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temp files left: %v", entries)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "f")); fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v, want 0640", fi.Mode().Perm())
	}
	if err := WriteFile(filepath.Join(dir, "missing"), "f", nil, 0o600); err == nil {
		t.Fatal("a write into a missing directory succeeded")
	}
}

// WriteFileIn replaces a symlink at name instead of writing through it, and
// ReadRegular refuses symlinks, FIFOs, directories and files over the bound.
func TestWriteFileInAndReadRegularNeverFollow(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	target := filepath.Join(outside, "target")
	if err := os.WriteFile(target, []byte("theirs"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, "f")); err != nil {
		t.Fatal(err)
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := ReadRegular(r, "f", 100); !errors.Is(err, ErrNotOurs) {
		t.Fatalf("ReadRegular of a symlink = %v, want ErrNotOurs", err)
	}
	if err := WriteFileIn(r, "f", []byte("ours"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "theirs" {
		t.Fatalf("the write went through the symlink: target holds %q", b)
	}
	if b, err := ReadRegular(r, "f", 100); err != nil || string(b) != "ours" {
		t.Fatalf("ReadRegular = %q, %v", b, err)
	}
	if _, err := ReadRegular(r, "f", 3); !errors.Is(err, ErrNotOurs) {
		t.Fatalf("ReadRegular over the bound = %v, want ErrNotOurs", err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"fifo", "."} {
		if _, err := ReadRegular(r, name, 100); !errors.Is(err, ErrNotOurs) {
			t.Fatalf("ReadRegular(%s) = %v, want ErrNotOurs", name, err)
		}
	}
	if _, _, err := OpenDir(r, "f"); !errors.Is(err, ErrNotOurs) {
		t.Fatalf("OpenDir of a file = %v, want ErrNotOurs", err)
	}
}
