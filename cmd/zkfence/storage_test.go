package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zkfence/zkfence/exitcode"
	"github.com/zkfence/zkfence/internal/fstest"
)

// fastProbe detects a lost mount within 300ms + 1s.
var fastProbe = []string{"--probe-interval", "300ms", "--probe-timeout", "1s"}

func TestOnlyTheHolderChecksAndMountsASharedDevice(t *testing.T) {
	needBinaryAndZK(t)
	p, dir := lockPath(t), t.TempDir()
	loop := fstest.LoopImage(t, 64)
	spy, err := fstest.NewFsckSpy(dir)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + spy.Dir + ":" + os.Getenv("PATH")}
	// Two "nodes" reach the same block device and would mount it at their
	// own mount points.
	mntA, mntB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, m := range []string{mntA, mntB} {
		if err := os.Mkdir(m, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	device := func(mnt string) []string {
		return []string{"--device", loop.Dev, "--mount", mnt, "--fstype", "ext4", "--claim-volume"}
	}
	child := `echo "$ZKFENCE_TOKEN" >> "$MNT/holders"; while [ ! -e "$GO" ]; do sleep 0.02; done`
	goA, goB := filepath.Join(dir, "go-a"), filepath.Join(dir, "go-b")
	a := startWrapper(t, append(env, "MNT="+mntA, "GO="+goA), runArgs(server.Addr(), p, append(device(mntA), "--", "sh", "-c", child)...)...)
	a.waitLog(`msg="child started"`, 20*time.Second)
	b := startWrapper(t, append(env, "MNT="+mntB, "GO="+goB), runArgs(server.Addr(), p, append(device(mntB), "--", "sh", "-c", child)...)...)
	b.waitLog(`msg="waiting for the lock"`, 20*time.Second)
	time.Sleep(500 * time.Millisecond)
	if calls := spy.Calls(); len(calls) != 1 {
		t.Fatalf("checker runs while A holds the lock: %q, want exactly A's one", calls)
	}
	if fstest.IsMountPoint(mntB) {
		t.Fatal("the waiting wrapper mounted the device")
	}
	if err := os.WriteFile(goA, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code := a.wait(20 * time.Second); code != 0 {
		t.Fatalf("A exited %d, want 0", code)
	}
	released := a.waitLog(`msg="lock released"`, time.Second)
	b.waitLog(`msg="child started"`, 20*time.Second)
	calls := spy.Calls()
	if len(calls) != 2 {
		t.Fatalf("checker runs: %q, want one per holder", calls)
	}
	secs, _ := strconv.ParseFloat(strings.Fields(calls[1])[0], 64)
	if ran := time.Unix(0, int64(secs*1e9)); ran.Before(released) {
		t.Fatalf("B checked the device at %v, before A released the lock at %v", ran, released)
	}
	if fstest.IsMountPoint(mntA) {
		t.Fatal("A left the device mounted")
	}
	holders, _ := os.ReadFile(filepath.Join(mntB, "holders"))
	if lines := strings.Fields(string(holders)); len(lines) != 2 || lines[0] >= lines[1] && len(lines[0]) == len(lines[1]) {
		t.Fatalf("tokens written on the device: %q, want A's then B's", lines)
	}
	if err := os.WriteFile(goB, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code := b.wait(20 * time.Second); code != 0 {
		t.Fatalf("B exited %d, want 0", code)
	}
}

func TestStorageRefusedBeforeStart(t *testing.T) {
	needBinaryAndZK(t)
	corrupt := fstest.LoopImageOf(t, 64, "ext4", fstest.Ext4Corrupt)
	tests := []struct {
		name string
		args func(dir string) []string
		want string
	}{
		{"corrupt device", func(dir string) []string {
			return []string{"--device", corrupt.Dev, "--mount", dir, "--fstype", "ext4", "--claim-volume"}
		}, "e2fsck"},
		{"plain directory", func(dir string) []string {
			return []string{"--mount", dir, "--claim-volume"}
		}, "not a mount point"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, dir := lockPath(t), t.TempDir()
			marker := filepath.Join(t.TempDir(), "started")
			w := startWrapper(t, nil, runArgs(server.Addr(), p, append(tt.args(dir), "--", "touch", marker)...)...)
			if code := w.wait(60 * time.Second); code != exitcode.StorageRefused {
				t.Fatalf("exit %d, want %d", code, exitcode.StorageRefused)
			}
			if !strings.Contains(w.log(), tt.want) {
				t.Fatalf("log does not say %q:\n%s", tt.want, w.log())
			}
			w.waitLog(`msg="lock released"`, time.Second)
			if _, err := os.Stat(marker); err == nil {
				t.Fatal("the child started on refused storage")
			}
			if fstest.IsMountPoint(dir) {
				t.Fatal("refused storage was left mounted")
			}
		})
	}
}

func TestMountLostStopsTheChild(t *testing.T) {
	for _, cut := range []string{"daemon killed", "daemon frozen"} {
		t.Run(cut, func(t *testing.T) {
			needBinaryAndZK(t)
			p := lockPath(t)
			fuse := fstest.BindFS(t, t.TempDir())
			args := append([]string{"--mount", fuse.Mnt, "--fstype", "fuse*", "--claim-volume", "--probe-timeout", "2s"}, fastProbe[:2]...)
			// The child says when its trap is set: a SIGHUP forwarded before
			// that would kill it (seen under load, 5 ms after its start).
			ready := filepath.Join(t.TempDir(), "ready")
			w := startWrapper(t, nil, runArgs(server.Addr(), p, append(args, "--", "sh", "-c", `trap "" HUP; : > "$0"; sleep 3600`, ready)...)...)
			w.waitLog(`msg="child started"`, 20*time.Second)
			for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				if _, err := os.Stat(ready); err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the child did not set its trap within 20s")
				}
			}
			start := time.Now()
			if cut == "daemon killed" {
				if err := fuse.Kill(); err != nil {
					t.Fatal(err)
				}
			} else {
				if err := fuse.Freeze(); err != nil {
					t.Fatal(err)
				}
				// Every call on the mount hangs now; the wrapper must still
				// answer signals at once.
				w.signal(syscall.SIGHUP)
				w.waitLog(`msg="forwarding signal" signal=hangup`, time.Second)
			}
			// While the mount hangs, zkfence stops the child and releases the
			// lock. Its process is reaped only once the kernel lets go of a
			// probe thread stuck in the FUSE call (when the daemon took the
			// request before it froze), so the daemon is thawed after that.
			dead := w.waitLog(`msg="child stopped"`, 30*time.Second)
			t.Logf("%s: child confirmed dead %v after the cut (interval 300ms + timeout 2s + grace 500ms)", cut, dead.Sub(start))
			w.waitLog(`msg="lock released"`, 10*time.Second)
			if cut == "daemon frozen" {
				fuse.Thaw()
			}
			if code := w.wait(30 * time.Second); code != exitcode.MountLost {
				t.Fatalf("exit %d, want %d (mount lost)", code, exitcode.MountLost)
			}
		})
	}
}
