package fstest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// mountWait bounds the wait for a FUSE daemon to mount, and for it to exit.
const mountWait = 10 * time.Second

// BindMount is a bindfs FUSE mount standing in for a network filesystem:
// kill its daemon and the mount answers ENOTCONN; stop it (SIGSTOP) and
// every call on the mount blocks, like a hard-mounted NFS whose server is
// gone. The daemon runs in the foreground (-f) as a child of this process.
// As root, bindfs mounts with type "fuse" and the source directory as the
// mount's source.
type BindMount struct {
	Src, Mnt string
	cmd      *exec.Cmd
	exited   chan struct{}
}

// StartBindFS mounts src on mnt with bindfs and waits until the mount table
// lists it. extra options go before the directories.
func StartBindFS(src, mnt string, extra ...string) (*BindMount, error) {
	bin, err := exec.LookPath("bindfs")
	if err != nil {
		return nil, fmt.Errorf("%w (apt-get install bindfs)", err)
	}
	args := append(append([]string{"-f"}, extra...), src, mnt)
	b := &BindMount{Src: src, Mnt: mnt, cmd: exec.Command(bin, args...), exited: make(chan struct{})}
	b.cmd.Stdout, b.cmd.Stderr = os.Stderr, os.Stderr
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // not hit by a test's signals to its group
	if err := b.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = b.cmd.Wait(); close(b.exited) }()
	deadline := time.Now().Add(mountWait)
	for !IsMountPoint(mnt) {
		select {
		case <-b.exited:
			return nil, fmt.Errorf("bindfs %s %s exited before mounting: %v", src, mnt, b.cmd.ProcessState)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = b.Close()
			return nil, fmt.Errorf("bindfs %s %s: %w after %s", src, mnt, errNotMounted, mountWait)
		}
	}
	return b, nil
}

// BindFS mounts src on a new temporary directory with bindfs; the mount and
// its daemon are cleaned up when the test ends, whatever the test did to
// them.
func BindFS(t testing.TB, src string) *BindMount {
	t.Helper()
	RequireRoot(t)
	mnt := t.TempDir()
	b, err := StartBindFS(src, mnt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("bindfs cleanup: %v", err)
		}
	})
	return b
}

// Pid is the daemon's process ID.
func (b *BindMount) Pid() int { return b.cmd.Process.Pid }

// Kill kills the daemon with SIGKILL and waits for it: the mount stays in
// the table and every call on it fails with ENOTCONN.
func (b *BindMount) Kill() error {
	if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return b.waitExit()
}

// Freeze stops the daemon (SIGSTOP): every call on the mount blocks.
func (b *BindMount) Freeze() error { return b.cmd.Process.Signal(syscall.SIGSTOP) }

// Thaw resumes a frozen daemon (SIGCONT).
func (b *BindMount) Thaw() error { return b.cmd.Process.Signal(syscall.SIGCONT) }

// Close resumes the daemon if it was stopped, lazily unmounts the mount if it
// is still there (which makes the daemon exit), and waits for the daemon,
// killing it if it does not exit in time.
func (b *BindMount) Close() error {
	_ = b.Thaw()
	for IsMountPoint(b.Mnt) {
		if err := unix.Unmount(b.Mnt, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("unmount %s: %w", b.Mnt, err)
		}
	}
	select {
	case <-b.exited:
		return nil
	case <-time.After(mountWait):
	}
	_ = b.cmd.Process.Signal(syscall.SIGKILL)
	return b.waitExit()
}

func (b *BindMount) waitExit() error {
	select {
	case <-b.exited:
		return nil
	case <-time.After(mountWait):
		return fmt.Errorf("bindfs (pid %d) did not exit within %s", b.Pid(), mountWait)
	}
}
