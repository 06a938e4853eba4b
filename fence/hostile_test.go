package fence

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zkfence/zkfence/internal/clock"
)

// readWithin runs Read(root) and fails the test if it does not return
// within a few seconds (a read that blocks on a planted FIFO).
func readWithin(t *testing.T, root string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { _, err := Read(root); done <- err }()
	select {
	case err := <-done:
		return err
	case <-time.After(3 * time.Second):
		t.Fatal("Read did not return within 3s")
		return nil
	}
}

// Whatever is planted as the record (or as .zkfence), Read returns at once
// with an error that the keeper takes for a corrupt record (ErrFenced), and
// nothing outside the volume is read.
func TestReadRefusesPlantedRecords(t *testing.T) {
	good := Record{Service: "/zkfence/db", Token: 5, Holder: "node-a/1", Heartbeat: time.Unix(1000, 0).UTC()}
	tests := map[string]func(t *testing.T, root, rec string){
		"fifo": func(t *testing.T, root, rec string) {
			must(t, syscall.Mkfifo(rec, 0o600))
		},
		"symlink to dev zero": func(t *testing.T, root, rec string) {
			must(t, os.Symlink("/dev/zero", rec))
		},
		"symlink to a record outside the volume": func(t *testing.T, root, rec string) {
			outside := t.TempDir()
			must(t, Write(outside, good))
			must(t, os.Symlink(Path(outside), rec))
		},
		"relative symlink inside the volume": func(t *testing.T, root, rec string) {
			must(t, os.WriteFile(filepath.Join(root, "planted.json"), encode(t, good), 0o600))
			must(t, os.Symlink("../planted.json", rec))
		},
		"directory": func(t *testing.T, root, rec string) {
			must(t, os.Mkdir(rec, 0o700))
		},
		"too large": func(t *testing.T, root, rec string) {
			// A valid record followed by 100 KiB of spaces: valid JSON, but no
			// record of ours is that large.
			data := append(encode(t, good), []byte(strings.Repeat(" ", 100<<10))...)
			must(t, os.WriteFile(rec, data, 0o600))
		},
		".zkfence a symlink": func(t *testing.T, root, rec string) {
			outside := t.TempDir()
			must(t, Write(outside, good))
			must(t, os.Remove(filepath.Join(root, Dir)))
			must(t, os.Symlink(filepath.Join(outside, Dir), filepath.Join(root, Dir)))
		},
		".zkfence not ours": func(t *testing.T, root, rec string) {
			must(t, Write(root, good))
			must(t, os.Chown(filepath.Join(root, Dir), 4321, 4321))
		},
		".zkfence writable by others": func(t *testing.T, root, rec string) {
			must(t, Write(root, good))
			must(t, os.Chmod(filepath.Join(root, Dir), 0o777))
		},
	}
	for name, plant := range tests {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			must(t, os.Mkdir(filepath.Join(root, Dir), 0o700))
			plant(t, root, Path(root))
			err := readWithin(t, root)
			if err == nil {
				t.Fatal("Read accepted a planted record")
			}
			if f := readFailure(err); !errors.Is(f, ErrFenced) {
				t.Fatalf("Read = %v, classified %v; want a corrupt record (ErrFenced)", err, f)
			}
		})
	}
}

// A 1 GiB record (sparse) is refused without reading it into memory.
func TestReadOfAHugeRecordIsBounded(t *testing.T) {
	root := t.TempDir()
	must(t, os.Mkdir(filepath.Join(root, Dir), 0o700))
	f, err := os.Create(Path(root))
	must(t, err)
	must(t, f.Truncate(1<<30))
	must(t, f.Close())
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err = readWithin(t, root)
	runtime.ReadMemStats(&after)
	if err == nil || !errors.Is(readFailure(err), ErrFenced) {
		t.Fatalf("Read = %v, want a corrupt record", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Fatalf("Read allocated %d bytes for a record", n)
	}
}

// A .zkfence symlink never makes Write or Acquire write outside the volume.
func TestWriteNeverFollowsASymlinkedDir(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	must(t, os.Symlink(outside, filepath.Join(root, Dir)))
	if err := Write(root, Record{Service: "/s", Token: 7, Holder: "h"}); err == nil {
		t.Fatal("Write through a .zkfence symlink succeeded")
	}
	err := Acquire(context.Background(), root, claim(5), clock.NewFake(time.Unix(1000, 0)), quiet)
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("Acquire = %v, want ErrRefused", err)
	}
	if names, _ := os.ReadDir(outside); len(names) != 0 {
		t.Fatalf("root wrote outside the volume: %v", names)
	}
}

// A FIFO renamed over the record must not hang the keeper: it stops the
// child (fenced) at its next beat.
func TestKeeperIsFencedByAFIFO(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	root := t.TempDir()
	c := claim(5)
	must(t, Acquire(context.Background(), root, c, clk, quiet))
	k := Keep([]string{root}, c, time.Second, func() bool { return true }, clk, quiet)
	defer k.Stop()
	fifo := filepath.Join(root, Dir, "planted")
	must(t, syscall.Mkfifo(fifo, 0o600))
	must(t, os.Rename(fifo, Path(root)))
	waitTimer(t, clk)
	clk.Advance(time.Second)
	select {
	case <-k.Lost():
	case <-time.After(3 * time.Second):
		t.Fatal("keeper did not stop on a FIFO record")
	}
	if !errors.Is(k.Err(), ErrFenced) {
		t.Fatalf("keeper error %v, want ErrFenced", k.Err())
	}
}

// A beat stuck in the filesystem (a FUSE daemon stopped, like a hard NFS
// mount whose server is gone) must not stall the keeper: past its bound it
// counts as an unreachable volume.
func TestKeeperBoundsAStuckBeat(t *testing.T) {
	if _, err := exec.LookPath("bindfs"); err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and bindfs (make deps)")
	}
	src, mnt := t.TempDir(), t.TempDir()
	daemon := mountBindfs(t, src, mnt)
	clk := clock.NewFake(time.Unix(1000, 0))
	c := claim(5)
	must(t, Acquire(context.Background(), mnt, c, clk, quiet))
	k := Keep([]string{mnt}, c, time.Second, func() bool { return true }, clk, quiet)
	defer k.Stop()
	must(t, daemon.Signal(syscall.SIGSTOP))
	t.Cleanup(func() { daemon.Signal(syscall.SIGCONT) })
	waitTimer(t, clk)
	clk.Advance(time.Second) // the beat starts, and sticks
	waitTimer(t, clk)        // the keeper waits for it with a bound
	clk.Advance(DefaultIOTimeout)
	select {
	case <-k.Lost():
	case <-time.After(3 * time.Second):
		t.Fatal("keeper stalled on a stuck beat")
	}
	if !errors.Is(k.Err(), ErrUnreachable) {
		t.Fatalf("keeper error %v, want ErrUnreachable", k.Err())
	}
}

// mountBindfs mounts src at mnt with bindfs in the foreground (no caching,
// as the chaos suite does) and returns its process.
func mountBindfs(t *testing.T, src, mnt string) *os.Process {
	t.Helper()
	cmd := exec.Command("bindfs", "-f", "-o", "attr_timeout=0,entry_timeout=0,negative_timeout=0", src, mnt)
	must(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		exec.Command("umount", "-l", mnt).Run()
		cmd.Process.Kill()
		cmd.Wait()
	})
	var dst, dmnt syscall.Stat_t
	must(t, syscall.Stat(src, &dst))
	for i := 0; i < 500; i++ {
		if syscall.Stat(mnt, &dmnt) == nil && dmnt.Dev != dst.Dev {
			return cmd.Process
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("bindfs did not mount")
	return nil
}

func encode(t *testing.T, r Record) []byte {
	t.Helper()
	dir := t.TempDir()
	must(t, Write(dir, r))
	b, err := os.ReadFile(Path(dir))
	must(t, err)
	return b
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
