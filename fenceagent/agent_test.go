package fenceagent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestOffConfirmed(t *testing.T) {
	f, a := newFake(t)
	secret := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(secret, []byte("s3cr3t-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a.Options = []Option{{Name: "ip", Ref: "127.0.0.1"}, {Name: "password", Source: File, Ref: secret}}
	f.codes("status", 2)
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := a.Off(context.Background(), "node-1"); err != nil {
		t.Fatalf("Off: %v", err)
	}
	want := []string{
		"ip=127.0.0.1\npassword=s3cr3t-pw\naction=off\nplug=node-1",
		"ip=127.0.0.1\npassword=s3cr3t-pw\naction=status\nplug=node-1",
	}
	if got := f.calls(); !slices.Equal(got, want) {
		t.Fatalf("stdin of the calls:\n%q\nwant\n%q", got, want)
	}
}

func TestOffPlugParam(t *testing.T) {
	f, a := newFake(t)
	a.PlugParam = "port"
	f.codes("status", 2)
	if err := a.Off(context.Background(), "vm-7"); err != nil {
		t.Fatal(err)
	}
	if got := f.calls(); len(got) != 2 || got[0] != "action=off\nport=vm-7" {
		t.Fatalf("calls %q", got)
	}
}

func TestOffConfirmedAfterRetries(t *testing.T) {
	f, a := newFake(t)
	f.codes("status", 0, 1, 2) // still on, a failed status, then off
	if err := a.Off(context.Background(), "node-1"); err != nil {
		t.Fatalf("Off: %v", err)
	}
	if got := f.actions(); !slices.Equal(got, []string{"off", "status", "status", "status"}) {
		t.Fatalf("actions %v", got)
	}
}

func TestOffNotConfirmed(t *testing.T) {
	f, a := newFake(t)
	f.codes("status", 0) // always on
	err := a.Off(context.Background(), "node-1")
	if !errors.Is(err, ErrFenceFailed) || !errors.Is(err, ErrNotConfirmed) || errors.Is(err, ErrTimeout) {
		t.Fatalf("Off = %v, want ErrFenceFailed and ErrNotConfirmed", err)
	}
	if got := f.actions(); !slices.Equal(got, []string{"off", "status", "status", "status"}) {
		t.Fatalf("actions %v, want off then ConfirmAttempts (3) status", got)
	}
}

func TestOffAgentFails(t *testing.T) {
	f, a := newFake(t)
	f.codes("off", 1)
	f.hook("off", `echo "ERROR: Failed: Unable to connect/login to fencing device" >&2`)
	f.codes("status", 2)
	err := a.Off(context.Background(), "node-1")
	if !errors.Is(err, ErrFenceFailed) || !errors.Is(err, ErrAgentFailed) || errors.Is(err, ErrNotConfirmed) {
		t.Fatalf("Off = %v", err)
	}
	if !strings.Contains(err.Error(), "Unable to connect/login") || !strings.Contains(err.Error(), "exited 1") {
		t.Fatalf("the error does not say what the agent said: %v", err)
	}
	if got := f.actions(); !slices.Equal(got, []string{"off"}) {
		t.Fatalf("actions %v: a failed off must not be 'confirmed' by a status", got)
	}
}

func TestOffRefusesBadPlug(t *testing.T) {
	for _, plug := range []string{"", "node-1\naction=on", "a\x00b", " node", "\"node\"", strings.Repeat("x", 256)} {
		f, a := newFake(t)
		err := a.Off(context.Background(), plug)
		if !errors.Is(err, ErrInvalid) || !errors.Is(err, ErrFenceFailed) {
			t.Errorf("Off(%q) = %v, want ErrInvalid", plug, err)
		}
		if c := f.calls(); c != nil {
			t.Errorf("Off(%q) ran the agent: %q", plug, c)
		}
	}
}

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		code int
		want Power
		err  error
	}{{0, PowerOn, nil}, {2, PowerOff, nil}, {1, PowerUnknown, ErrAgentFailed}, {8, PowerUnknown, ErrAgentFailed}} {
		f, a := newFake(t)
		f.codes("status", tc.code)
		p, err := a.Status(context.Background(), "n")
		if p != tc.want || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("exit %d: Status = %v, %v; want %v, %v", tc.code, p, err, tc.want, tc.err)
		}
	}
}

func TestOnAndMonitor(t *testing.T) {
	f, a := newFake(t)
	if err := a.On(context.Background(), "self"); err != nil {
		t.Fatal(err)
	}
	if err := a.Monitor(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.calls(); !slices.Equal(got, []string{"action=on\nplug=self", "action=monitor"}) {
		t.Fatalf("calls %q", got)
	}
	f.codes("on", 1)
	f.codes("monitor", 1)
	if err := a.On(context.Background(), "self"); !errors.Is(err, ErrAgentFailed) {
		t.Fatalf("On = %v", err)
	}
	if err := a.Monitor(context.Background()); !errors.Is(err, ErrAgentFailed) {
		t.Fatalf("Monitor = %v", err)
	}
}

func TestAgentCannotStart(t *testing.T) {
	a := &Agent{Path: "/nonexistent/fence_nothing"}
	if err := a.Off(context.Background(), "n"); !errors.Is(err, ErrFenceFailed) || !errors.Is(err, ErrAgentFailed) {
		t.Fatalf("Off = %v", err)
	}
	if err := a.Validate(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Validate = %v", err)
	}
}

// secretOptions gives a a password from a file and a token from the
// environment, and returns both values.
func secretOptions(t *testing.T, a *Agent) []string {
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("Pa55-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FENCEAGENT_TEST_TOKEN", "tok-from-env-42")
	a.Options = []Option{{Name: "ip", Ref: "192.0.2.9"}, {Name: "password", Source: File, Ref: pw},
		{Name: "api_token", Source: Env, Ref: "FENCEAGENT_TEST_TOKEN"}}
	return []string{"Pa55-from-file", "tok-from-env-42"}
}

// An agent that echoes its whole stdin (secrets included) on stdout and
// stderr, then fails: the error and the log show what it said, without the
// secrets.
func TestSecretsNeverInErrorsOrLogs(t *testing.T) {
	f, a := newFake(t)
	secrets := secretOptions(t, a)
	a.Metrics = NewMetrics()
	f.hook("off", `printf 'got %s\n' "$input"; printf 'ERROR: login failed with %s\n' "$input" >&2`)
	f.codes("off", 3)
	err := a.Off(context.Background(), "node-1")
	if !errors.Is(err, ErrFenceFailed) {
		t.Fatalf("Off = %v", err)
	}
	f.hook("status", `printf 'status %s\n' "$input" >&2`)
	f.codes("status", 1)
	_, serr := a.Status(context.Background(), "node-1")
	if serr == nil {
		t.Fatal("Status succeeded")
	}
	shown := err.Error() + "\n" + serr.Error() + "\n" + f.log.String() + "\n" + gatherText(t, a.Metrics)
	for _, s := range secrets {
		if strings.Contains(shown, s) {
			t.Fatalf("secret %q shown:\n%s", s, shown)
		}
	}
	// The output is there, redacted: the test would pass vacuously otherwise.
	for _, want := range []string{"password=[redacted]", "api_token=[redacted]", "ip=192.0.2.9", "login failed"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error lacks %q: %v", want, err)
		}
	}
	if got := f.calls(); len(got) == 0 || !strings.Contains(got[0], "password=Pa55-from-file") {
		t.Fatalf("the agent did not get the secret: %q", got)
	}
}

// A tail cut through a secret drops the cut line: no half secret escapes redaction.
func TestTailDropsCutLine(t *testing.T) {
	secret := "ABCDEFGHIJKLMNOP"
	tb := &tailBuffer{max: 20}
	tb.Write([]byte("xx " + secret + " yy\nlast line\n"))
	got := redact(tb.String(), []string{secret})
	if strings.Contains(got, "IJKLMNOP") || !strings.Contains(got, "last line") {
		t.Fatalf("tail %q", got)
	}
}

// The agent does not get zkfence's own settings: ZKFENCE_ZK_AUTH holds
// ZooKeeper credentials, ZKFENCE_FENCE_OPTION the options themselves.
func TestAgentEnvironment(t *testing.T) {
	f, a := newFake(t)
	t.Setenv("ZKFENCE_ZK_AUTH", "zkuser:zk-secret-pw")
	t.Setenv("ZKFENCE_FENCE_OPTION", "password=@/x")
	t.Setenv("AWS_PROFILE", "fencing")
	f.hook("monitor", `env > "$dir/env"`)
	if err := a.Monitor(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(f.dir, "env"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "ZKFENCE_") || !strings.Contains(string(b), "AWS_PROFILE=fencing") {
		t.Fatalf("the agent's environment:\n%s", b)
	}
}
