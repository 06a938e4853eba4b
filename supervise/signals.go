package supervise

import (
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Real-time signals as glibc numbers them: the kernel's 32 and 33 are taken by
// glibc's threads implementation, so SIGRTMIN is 34 for programs like postgres.
const (
	sigRTMin = 34
	sigRTMax = 64
)

// dropped are caught so that they neither kill nor stop the wrapper, and are
// not forwarded: the kernel raises them for the wrapper's own I/O (a write to
// a closed pipe; a background read or write on the terminal after the child was
// given the foreground), not for the child.
var dropped = []os.Signal{syscall.SIGPIPE, syscall.SIGTTIN, syscall.SIGTTOU}

// notForwarded are the signals below 32 that Signals does not deliver; see the
// package documentation for why each one.
var notForwarded = map[syscall.Signal]bool{
	// The kernel's: they cannot be caught.
	syscall.SIGKILL: true,
	syscall.SIGSTOP: true,
	// The reaper's.
	syscall.SIGCHLD: true,
	// The Go runtime's: SIGURG preempts goroutines (it arrives many times a
	// second under load and means nothing to the child); SIGPROF drives the
	// profiler.
	syscall.SIGURG:  true,
	syscall.SIGPROF: true,
	// Raised by the kernel for the wrapper's own I/O: see dropped.
	syscall.SIGPIPE: true,
	syscall.SIGTTIN: true,
	syscall.SIGTTOU: true,
	// Synchronous faults of the wrapper itself (tini does not forward them).
	syscall.SIGILL:  true,
	syscall.SIGTRAP: true,
	syscall.SIGABRT: true,
	syscall.SIGBUS:  true,
	syscall.SIGFPE:  true,
	syscall.SIGSEGV: true,
	syscall.SIGSYS:  true,
}

// ForwardedSignals lists, in increasing order, every signal Signals delivers:
// 1-31 except notForwarded, and the real-time signals 34-64.
func ForwardedSignals() []syscall.Signal {
	var sigs []syscall.Signal
	for s := syscall.Signal(1); s < 32; s++ {
		if !notForwarded[s] {
			sigs = append(sigs, s)
		}
	}
	for s := syscall.Signal(sigRTMin); s <= sigRTMax; s++ {
		sigs = append(sigs, s)
	}
	return sigs
}

// Signals returns a channel that receives every signal in ForwardedSignals,
// and a stop func. The caller owns the channel: it decides per signal and calls
// Child.Forward for the rest. Call Signals early: as PID 1 a signal nobody
// asked for takes its default action on the wrapper (for SIGTERM, Go exits).
// SIGPIPE, SIGTTIN and SIGTTOU are caught and dropped until stop is called.
func Signals() (<-chan os.Signal, func()) {
	ch := make(chan os.Signal, 64)
	sink := make(chan os.Signal, 1) // never read: Notify drops what does not fit
	var sigs []os.Signal
	for _, s := range ForwardedSignals() {
		sigs = append(sigs, s)
	}
	signal.Notify(ch, sigs...)
	signal.Notify(sink, dropped...)
	return ch, func() {
		signal.Stop(ch)
		signal.Stop(sink)
	}
}

// SignalMap translates a signal the wrapper received into the one the child
// gets. Signals not in the map are forwarded unchanged; a nil map is identity.
type SignalMap map[syscall.Signal]syscall.Signal

// Translate returns what sig becomes for the child.
func (m SignalMap) Translate(sig syscall.Signal) syscall.Signal {
	if to, ok := m[sig]; ok {
		return to
	}
	return sig
}

// String renders the map in ParseSignalMap's syntax, sorted.
func (m SignalMap) String() string {
	var parts []string
	for from, to := range m {
		parts = append(parts, SignalName(from)+":"+SignalName(to))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// DefaultSignalMap is the documented default per engine:
//   - "postgres" (or "postgresql"): SIGTERM -> SIGINT. For PostgreSQL SIGTERM is
//     "smart" shutdown, which waits for every client to disconnect and may never
//     end; SIGINT is "fast" shutdown: clients are disconnected, a checkpoint is
//     written, the server exits cleanly (the official image's STOPSIGNAL).
//   - "mysql" (or "mariadb"): identity; SIGTERM is mysqld's clean shutdown.
//   - "" and any other engine: identity.
func DefaultSignalMap(engine string) SignalMap {
	switch strings.ToLower(engine) {
	case "postgres", "postgresql":
		return SignalMap{syscall.SIGTERM: syscall.SIGINT}
	default:
		return SignalMap{}
	}
}

// ParseSignal reads "TERM", "SIGTERM", "sigterm", "15", "RTMIN+3" or "SIGRTMAX-1".
func ParseSignal(s string) (syscall.Signal, error) {
	name := strings.ToUpper(strings.TrimSpace(s))
	if n, err := strconv.Atoi(name); err == nil {
		if n < 1 || n > sigRTMax {
			return 0, fmt.Errorf("signal %q: out of range 1-%d", s, sigRTMax)
		}
		if n == 32 || n == 33 {
			return 0, fmt.Errorf("signal %q: reserved by glibc", s)
		}
		return syscall.Signal(n), nil
	}
	name = strings.TrimPrefix(name, "SIG")
	if sig := unix.SignalNum("SIG" + name); sig != 0 {
		return sig, nil
	}
	if sig, ok := parseRT(name); ok {
		return sig, nil
	}
	return 0, fmt.Errorf("signal %q: unknown", s)
}

// parseRT reads RTMIN, RTMIN+n, RTMAX, RTMAX-n (without the SIG prefix).
func parseRT(name string) (syscall.Signal, bool) {
	base, sign, rest := 0, 0, ""
	switch {
	case strings.HasPrefix(name, "RTMIN"):
		base, sign, rest = sigRTMin, 1, strings.TrimPrefix(name, "RTMIN")
	case strings.HasPrefix(name, "RTMAX"):
		base, sign, rest = sigRTMax, -1, strings.TrimPrefix(name, "RTMAX")
	default:
		return 0, false
	}
	off := 0
	if rest != "" {
		op := "+"
		if sign < 0 {
			op = "-"
		}
		n, err := strconv.Atoi(strings.TrimPrefix(rest, op))
		if err != nil || !strings.HasPrefix(rest, op) || n < 0 {
			return 0, false
		}
		off = sign * n
	}
	sig := base + off
	if sig < sigRTMin || sig > sigRTMax {
		return 0, false
	}
	return syscall.Signal(sig), true
}

// SignalName is the name of sig as ParseSignal reads it: "SIGTERM", "SIGRTMIN+3".
func SignalName(sig syscall.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	if sig >= sigRTMin && sig <= sigRTMax {
		return "SIGRTMIN+" + strconv.Itoa(int(sig)-sigRTMin)
	}
	return "signal " + strconv.Itoa(int(sig))
}

// ParseSignalMap reads a --signal-map flag: "TERM:INT,HUP:HUP". The empty
// string is the identity map. Each source must be a forwarded signal (see
// ForwardedSignals) and may appear once.
func ParseSignalMap(s string) (SignalMap, error) {
	m := SignalMap{}
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	forwarded := map[syscall.Signal]bool{}
	for _, sig := range ForwardedSignals() {
		forwarded[sig] = true
	}
	for _, pair := range strings.Split(s, ",") {
		fromS, toS, ok := strings.Cut(pair, ":")
		if !ok {
			return nil, fmt.Errorf("signal map %q: %q is not FROM:TO", s, pair)
		}
		from, err := ParseSignal(fromS)
		if err != nil {
			return nil, fmt.Errorf("signal map %q: %w", s, err)
		}
		to, err := ParseSignal(toS)
		if err != nil {
			return nil, fmt.Errorf("signal map %q: %w", s, err)
		}
		if !forwarded[from] {
			return nil, fmt.Errorf("signal map %q: %s is never forwarded", s, SignalName(from))
		}
		if _, dup := m[from]; dup {
			return nil, fmt.Errorf("signal map %q: %s mapped twice", s, SignalName(from))
		}
		m[from] = to
	}
	return m, nil
}
