package supervise

import (
	"reflect"
	"syscall"
	"testing"
)

// FuzzParseSignal: no input panics; an accepted signal is a real one (1-64,
// not glibc's 32 and 33) whose name reads back as the same signal. `go test`
// runs the seeds; see the README for longer runs.
func FuzzParseSignal(f *testing.F) {
	for _, s := range []string{"TERM", "sigint", "15", "RTMIN+3", "SIGRTMAX-1", "0", "65", "32", "RTMIN+31", "RTMAX-", "-1", "+15", "STOP"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := ParseSignal(s)
		if err != nil {
			return
		}
		if sig < 1 || sig > sigRTMax || sig == 32 || sig == 33 {
			t.Fatalf("ParseSignal(%q) = %d", s, sig)
		}
		if back, err := ParseSignal(SignalName(sig)); err != nil || back != sig {
			t.Fatalf("ParseSignal(SignalName(%d) = %q) = %d, %v", sig, SignalName(sig), back, err)
		}
	})
}

// FuzzParseSignalMap: no input panics; an accepted map translates only
// forwarded signals, into real ones, and reads back from its String.
func FuzzParseSignalMap(f *testing.F) {
	for _, s := range []string{"TERM:INT,QUIT:QUIT", "", "TERM", "TERM:INT,TERM:QUIT", "KILL:TERM", "CHLD:TERM", "RTMIN+1:HUP", " , ", "TERM:STOP"} {
		f.Add(s)
	}
	forwarded := map[syscall.Signal]bool{}
	for _, sig := range ForwardedSignals() {
		forwarded[sig] = true
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseSignalMap(s)
		if err != nil {
			return
		}
		for from, to := range m {
			if !forwarded[from] || to < 1 || to > sigRTMax || to == 32 || to == 33 {
				t.Fatalf("ParseSignalMap(%q) maps %d to %d", s, from, to)
			}
		}
		back, err := ParseSignalMap(m.String())
		if err != nil || !reflect.DeepEqual(back, m) {
			t.Fatalf("ParseSignalMap(%q).String() = %q reads back as %v, %v", s, m.String(), back, err)
		}
	})
}
