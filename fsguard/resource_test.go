package fsguard

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestIsLocalResourceError(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{unix.EMFILE, true},
		{unix.ENFILE, true},
		{unix.ENOMEM, true},
		{&os.PathError{Op: "open", Path: "/v/.zkfence/fence.json", Err: unix.EMFILE}, true},
		{fmt.Errorf("statfs: %w", errnoError{unix.ENOMEM}), true},
		{unix.ENOTCONN, false},
		{unix.ESTALE, false},
		{unix.EIO, false},
		{os.ErrNotExist, false},
		{errors.New("EMFILE"), false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := IsLocalResourceError(tt.err); got != tt.want {
			t.Errorf("IsLocalResourceError(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// exhaustDescriptors lowers this process's soft RLIMIT_NOFILE to what is
// open now plus a few, and opens files until EMFILE. release closes them and
// restores the limit; it runs at the latest when the test ends, before the
// cleanups registered earlier (a bindfs unmount needs descriptors).
func exhaustDescriptors(t *testing.T) (release func()) {
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

// TestWatchOutOfDescriptorsIsNotMountLoss: with no descriptor left (idle
// health connections once did it), the probe cannot read the mount table;
// that is not a mount loss (issue 16, item 5). A dead mount is still caught
// meanwhile: statfs needs no descriptor.
func TestWatchOutOfDescriptorsIsNotMountLoss(t *testing.T) {
	b, p := sharedBindFS(t)
	log, logs := testLogger(t)
	w := Watch(p, testInterval, testTimeout, log)
	t.Cleanup(w.Stop)
	release := exhaustDescriptors(t)
	select {
	case <-w.Lost():
		release()
		t.Fatalf("out of descriptors taken for a lost mount: %v", w.Err())
	case <-time.After(10 * testInterval):
	}
	if !strings.Contains(logs.String(), "storage probe inconclusive") || !strings.Contains(logs.String(), "EMFILE") {
		release()
		t.Fatalf("the probes did not run out of descriptors:\n%s", logs)
	}
	if err := b.Kill(); err != nil {
		release()
		t.Fatal(err)
	}
	err := waitLost(t, w, detectWithin)
	release()
	if !errors.Is(err, ErrMountLost) || !(errors.Is(err, unix.ENOTCONN) || errors.Is(err, unix.ECONNABORTED)) {
		t.Errorf("dead mount while out of descriptors: %v, want mount lost with ENOTCONN", err)
	}
}
