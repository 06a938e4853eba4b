// Package sigdefault makes the processes a Go program starts get the default
// disposition of every signal, whatever dispositions the program inherited.
//
// An ignored signal (SIG_IGN) stays ignored across fork and exec, and a shell
// cannot even trap a signal it was started with ignored. A Go program takes
// over, at start, every signal but SIGHUP and SIGINT when they arrive ignored
// (os/signal: "they will remain ignored"), and signal.Ignore sets SIG_IGN; a
// signal the runtime handles is reset to SIG_DFL in the child (exec resets
// handlers), an ignored one is not. So a program started under nohup, or
// under a shell's `trap "" HUP INT`, passes SIGHUP and SIGINT ignored to every
// process it starts, unless it has asked os/signal for them at that moment.
//
// ForChildren asks os/signal for every signal the process ignores, for as
// long as the caller needs (the fork of a child, or a whole test run), and
// drops what arrives: the program still ignores them, its children get
// SIG_DFL. Its restore func hands them back (ignored again).
//
// Signals os/signal cannot take over stay as they are: SIGPROF (the
// profiler's, which Go handles from the start) and 32 and 33, reserved by
// glibc for its threads (Go handles 33 from the start; glibc installs its
// own handlers in a C child). SIGKILL and SIGSTOP cannot be ignored.
package sigdefault

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

// statusPath is where the kernel lists this process's ignored signals
// (SigIgn, a hex mask: bit N-1 for signal N).
const statusPath = "/proc/self/status"

// ForChildren takes over every signal this process ignores, so that a child
// started before restore is called gets SIG_DFL for it; the process itself
// keeps dropping them. restore ignores them again; it is idempotent. Calls
// must not overlap, and the caller must not Notify or Ignore the same signals
// meanwhile. An error reading the mask is returned with a no-op restore.
func ForChildren() (restore func(), err error) {
	sigs, err := Ignored()
	if err != nil || len(sigs) == 0 {
		return func() {}, err
	}
	sink := make(chan os.Signal, 1) // never read: Notify drops what does not fit
	signal.Notify(sink, sigs...)
	done := false
	return func() {
		if !done {
			done = true
			signal.Stop(sink)
			signal.Ignore(sigs...)
		}
	}, nil
}

// Ignored returns the signals this process ignores that os/signal can take
// over (see the package documentation for those it cannot).
func Ignored() ([]os.Signal, error) {
	b, err := os.ReadFile(statusPath)
	if err != nil {
		return nil, err
	}
	mask, err := ignoredMask(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", statusPath, err)
	}
	var sigs []os.Signal
	for n := 1; n <= 64; n++ {
		s := syscall.Signal(n)
		if mask&(1<<(n-1)) != 0 && s != syscall.SIGPROF && n != 32 && n != 33 {
			sigs = append(sigs, s)
		}
	}
	return sigs, nil
}

// ignoredMask reads the SigIgn line of a /proc/PID/status.
func ignoredMask(status string) (uint64, error) {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, "SigIgn:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, fmt.Errorf("no SigIgn line")
}
