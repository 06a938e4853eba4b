package supervise

import (
	"os"
	"syscall"
	"testing"
	"time"
)

func TestParseSignal(t *testing.T) {
	cases := []struct {
		in   string
		want syscall.Signal
		ok   bool
	}{
		{"TERM", syscall.SIGTERM, true}, {"SIGTERM", syscall.SIGTERM, true},
		{"sigterm", syscall.SIGTERM, true}, {"15", syscall.SIGTERM, true},
		{" hup ", syscall.SIGHUP, true}, {"INT", syscall.SIGINT, true},
		{"WINCH", syscall.SIGWINCH, true}, {"9", syscall.SIGKILL, true},
		{"RTMIN", 34, true}, {"SIGRTMIN+3", 37, true}, {"RTMAX", 64, true}, {"RTMAX-1", 63, true},
		{"64", 64, true},
		{"", 0, false}, {"FOO", 0, false}, {"0", 0, false}, {"65", 0, false}, {"-1", 0, false},
		{"32", 0, false}, {"33", 0, false}, {"RTMIN+31", 0, false}, {"RTMAX+1", 0, false},
		{"RTMIN-1", 0, false}, {"RTMINx", 0, false}, {"SIG", 0, false},
	}
	for _, c := range cases {
		got, err := ParseSignal(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseSignal(%q) = %v, %v; want %v, ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
	for _, s := range ForwardedSignals() {
		if got, err := ParseSignal(SignalName(s)); err != nil || got != s {
			t.Errorf("round trip of %d (%s): %v, %v", s, SignalName(s), got, err)
		}
	}
}

func TestParseSignalMap(t *testing.T) {
	m, err := ParseSignalMap("TERM:INT, hup:HUP,SIGUSR1:12")
	if err != nil {
		t.Fatal(err)
	}
	if m.Translate(syscall.SIGTERM) != syscall.SIGINT || m.Translate(syscall.SIGHUP) != syscall.SIGHUP ||
		m.Translate(syscall.SIGUSR1) != syscall.SIGUSR2 || m.Translate(syscall.SIGQUIT) != syscall.SIGQUIT {
		t.Errorf("map %v", m)
	}
	if got := m.String(); got != "SIGHUP:SIGHUP,SIGTERM:SIGINT,SIGUSR1:SIGUSR2" {
		t.Errorf("String() = %q", got)
	}
	if m, err := ParseSignalMap(""); err != nil || len(m) != 0 {
		t.Errorf("empty: %v, %v", m, err)
	}
	for _, bad := range []string{"TERM", "TERM:", "TERM:NOPE", "NOPE:TERM", "TERM:INT,TERM:QUIT",
		"CHLD:TERM", "KILL:TERM", "URG:TERM", "PIPE:TERM", "TERM:INT,"} {
		if _, err := ParseSignalMap(bad); err == nil {
			t.Errorf("ParseSignalMap(%q) accepted", bad)
		}
	}
}

func TestDefaultSignalMap(t *testing.T) {
	for engine, want := range map[string]syscall.Signal{
		"postgres": syscall.SIGINT, "PostgreSQL": syscall.SIGINT,
		"mysql": syscall.SIGTERM, "mariadb": syscall.SIGTERM, "": syscall.SIGTERM, "other": syscall.SIGTERM,
	} {
		m := DefaultSignalMap(engine)
		if got := m.Translate(syscall.SIGTERM); got != want {
			t.Errorf("%q: SIGTERM -> %v, want %v", engine, got, want)
		}
		if got := m.Translate(syscall.SIGHUP); got != syscall.SIGHUP {
			t.Errorf("%q: SIGHUP -> %v", engine, got)
		}
	}
	var nilMap SignalMap
	if nilMap.Translate(syscall.SIGTERM) != syscall.SIGTERM {
		t.Error("nil map is not identity")
	}
}

func TestForwardedSignals(t *testing.T) {
	set := map[syscall.Signal]bool{}
	for _, s := range ForwardedSignals() {
		set[s] = true
	}
	for _, s := range append(commonSignals, syscall.SIGALRM, syscall.SIGTSTP, syscall.SIGPWR, syscall.SIGXCPU, 34, 64) {
		if !set[s] {
			t.Errorf("%s not forwarded", SignalName(s))
		}
	}
	for _, s := range []syscall.Signal{syscall.SIGKILL, syscall.SIGSTOP, syscall.SIGCHLD, syscall.SIGURG,
		syscall.SIGPIPE, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGSEGV, syscall.SIGPROF, 32, 33} {
		if set[s] {
			t.Errorf("%s forwarded", SignalName(s))
		}
	}
}

// TestSignals: a forwarded signal arrives on the channel; SIGPIPE is dropped
// and does not kill the process.
func TestSignals(t *testing.T) {
	ch, stop := Signals()
	defer stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGPIPE); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-ch:
		if s != syscall.SIGUSR1 {
			t.Errorf("got %v, want SIGUSR1 first (SIGPIPE is dropped)", s)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("SIGUSR1 not delivered")
	}
}
