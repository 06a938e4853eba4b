package fstest

import (
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// ExhaustDescriptors lowers this process's soft RLIMIT_NOFILE to what is
// open now plus a few, and opens files until EMFILE. release closes them and
// restores the limit; it runs at the latest when the test ends, before the
// cleanups registered earlier (a bindfs unmount needs descriptors).
func ExhaustDescriptors(t *testing.T) (release func()) {
	t.Helper()
	var saved unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &saved); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	low := saved
	low.Cur = uint64(len(entries) + 8)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	var fds []int
	for i := 0; i < 64; i++ { // bounded: the limit is only a few above what is open
		fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.EMFILE) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		fds = append(fds, fd)
	}
	done := false
	release = func() {
		if done {
			return
		}
		done = true
		for _, fd := range fds {
			unix.Close(fd)
		}
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &saved); err != nil {
			t.Errorf("restore RLIMIT_NOFILE: %v", err)
		}
	}
	t.Cleanup(release)
	if _, err := os.Open("/proc/self/mountinfo"); !errors.Is(err, unix.EMFILE) {
		release()
		t.Fatalf("descriptors not exhausted: open = %v", err)
	}
	return release
}
