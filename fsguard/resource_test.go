package fsguard

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/zkfence/zkfence/internal/fstest"
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

// TestWatchOutOfDescriptorsIsNotMountLoss: with no descriptor left (idle
// health connections once did it), the probe cannot read the mount table;
// that is not a mount loss (issue 16, item 5). A dead mount is still caught
// meanwhile: statfs needs no descriptor.
func TestWatchOutOfDescriptorsIsNotMountLoss(t *testing.T) {
	b, p := sharedBindFS(t)
	log, logs := testLogger(t)
	w := Watch(p, testInterval, testTimeout, log)
	t.Cleanup(w.Stop)
	release := fstest.ExhaustDescriptors(t)
	// Wait for probes that ran out of descriptors (a loaded machine may
	// take a while to run one), and a few more after the first: none may
	// call the mount lost.
	inconclusive := func() bool {
		return strings.Contains(logs.String(), "storage probe inconclusive") && strings.Contains(logs.String(), "EMFILE")
	}
	for deadline := time.Now().Add(30 * time.Second); !inconclusive(); {
		if time.Now().After(deadline) {
			release()
			t.Fatalf("the probes did not run out of descriptors in 30 s:\n%s", logs)
		}
		select {
		case <-w.Lost():
			release()
			t.Fatalf("out of descriptors taken for a lost mount: %v", w.Err())
		case <-time.After(testInterval):
		}
	}
	select {
	case <-w.Lost():
		release()
		t.Fatalf("out of descriptors taken for a lost mount: %v", w.Err())
	case <-time.After(5 * testInterval):
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
