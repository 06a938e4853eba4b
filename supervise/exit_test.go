package supervise

import (
	"errors"
	"fmt"
	"syscall"
	"testing"
)

func TestExitCodeOf(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{fmt.Errorf("start: %w", execErr("x", syscall.ENOENT)), 127},
		{execErr("x", syscall.ENOTDIR), 127},
		{execErr("x", syscall.EACCES), 126},
		{execErr("x", syscall.ENOEXEC), 126},
		{execErr("x", syscall.EPERM), 126},
		{execErr("x", syscall.EAGAIN), 99},
		{fmt.Errorf("%w: x", ErrBadUser), 78},
		{errors.New("other"), 99},
	}
	for _, c := range cases {
		if got := ExitCodeOf(c.err); got != c.want {
			t.Errorf("ExitCodeOf(%v) = %d, want %d", c.err, got, c.want)
		}
	}
	if err := execErr("/bin/x", syscall.EACCES); !errors.Is(err, syscall.EACCES) || err.Error() != "exec /bin/x: command not executable: permission denied" {
		t.Errorf("%v", err)
	}
}

func TestExitCodeOfStatus(t *testing.T) {
	// A wait status is (code << 8) for an exit and the signal number for a death.
	for _, c := range []struct {
		ws   syscall.WaitStatus
		want int
	}{
		{0, 0}, {1 << 8, 1}, {255 << 8, 255}, {syscall.WaitStatus(syscall.SIGTERM), 143},
		{syscall.WaitStatus(syscall.SIGKILL), 137}, {syscall.WaitStatus(syscall.SIGSEGV) | 0x80, 139},
	} {
		if got := exitCodeOfStatus(c.ws); got != c.want {
			t.Errorf("status %#x: %d, want %d", uint32(c.ws), got, c.want)
		}
	}
}
