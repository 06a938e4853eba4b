package fenceagent

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseOption(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Option
	}{
		{"ip=10.0.0.1", Option{Name: "ip", Ref: "10.0.0.1"}},
		{"ssl_insecure=1", Option{Name: "ssl_insecure", Ref: "1"}},
		{"api-version=1.41", Option{Name: "api-version", Ref: "1.41"}},
		{"password=@/run/secrets/ipmi", Option{Name: "password", Source: File, Ref: "/run/secrets/ipmi"}},
		{"password=env:IPMI_PASSWORD", Option{Name: "password", Source: Env, Ref: "IPMI_PASSWORD"}},
		{"login=raw:@admin", Option{Name: "login", Ref: "@admin"}},
		{"login=raw:env:x", Option{Name: "login", Ref: "env:x"}},
		{"cmd_prompt=a=b", Option{Name: "cmd_prompt", Ref: "a=b"}},
		{"password_script=/usr/local/bin/get-pw", Option{Name: "password_script", Ref: "/usr/local/bin/get-pw"}},
		{"inet4_only=", Option{Name: "inet4_only", Ref: ""}},
	} {
		got, err := ParseOption(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseOption(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseOptionRefused(t *testing.T) {
	for _, tc := range []struct{ in, why string }{
		{"noequals", "has no '='"},
		{"=x", "name"},
		{"1ip=x", "name"},
		{"i p=x", "name"},
		{"action=off", "zkfence sets action"},
		{"plug=x", "zkfence sets plug"},
		{"Port=x", "zkfence sets port"},
		{"nodename=x", "zkfence sets nodename"},
		{"password=hunter2", "from a file"},
		{"snmp_priv_passwd=hunter2", "from a file"},
		{"secret-key=hunter2", "from a file"},
		{"community=private", "from a file"},
		{"password=@", "file path"},
		{"password=env:", "variable name"},
		{"ip= 10.0.0.1", "blank"},
		{`ip="10.0.0.1"`, "double quotes"},
	} {
		_, err := ParseOption(tc.in)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("ParseOption(%q) = %v; want ErrInvalid saying %q", tc.in, err, tc.why)
		}
		if strings.Contains(tc.in, "hunter2") && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the error quotes the secret: %v", err)
		}
	}
}

func TestOptionValue(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Setenv("FENCEAGENT_TEST_PW", "from env")
	for _, tc := range []struct {
		o    Option
		want string
		err  string
	}{
		{Option{Name: "password", Source: File, Ref: write("a", "pw\n")}, "pw", ""},
		{Option{Name: "password", Source: File, Ref: write("b", "pw\r\n")}, "pw", ""},
		{Option{Name: "password", Source: File, Ref: write("c", "pw")}, "pw", ""},
		{Option{Name: "password", Source: File, Ref: write("d", "two\nlines\n")}, "", "newline"},
		{Option{Name: "password", Source: File, Ref: write("e", strings.Repeat("x", maxValueFile+1))}, "", "larger than"},
		{Option{Name: "password", Source: File, Ref: dir}, "", "not a regular file"},
		{Option{Name: "password", Source: File, Ref: filepath.Join(dir, "missing")}, "", "no such file"},
		{Option{Name: "password", Source: Env, Ref: "FENCEAGENT_TEST_PW"}, "from env", ""},
		{Option{Name: "password", Source: Env, Ref: "FENCEAGENT_TEST_UNSET"}, "", "is not set"},
	} {
		got, err := tc.o.Value()
		if tc.err == "" && (err != nil || got != tc.want) {
			t.Errorf("%s: Value = %q, %v; want %q", tc.o, got, err, tc.want)
		}
		if tc.err != "" && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: Value = %v; want ErrInvalid saying %q", tc.o, err, tc.err)
		}
	}
}

func TestOptionStringHidesValue(t *testing.T) {
	o, err := ParseOption("login=admin-user")
	if err != nil {
		t.Fatal(err)
	}
	if s := o.String(); strings.Contains(s, "admin-user") || s != "login=(literal)" {
		t.Fatalf("String = %q", s)
	}
	if !(Option{Name: "ip", Source: Env, Ref: "X"}).Secret() || (Option{Name: "ip", Ref: "x"}).Secret() {
		t.Fatal("Secret: every value from a file or the environment is a secret; a literal ip is not")
	}
}

func TestValidate(t *testing.T) {
	_, base := newFake(t)
	notExec := filepath.Join(t.TempDir(), "fence_x")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(a *Agent)
		why  string
	}{
		{"relative path", func(a *Agent) { a.Path = "fence_docker" }, "absolute path"},
		{"missing", func(a *Agent) { a.Path = "/nonexistent/fence_x" }, "no such file"},
		{"directory", func(a *Agent) { a.Path = "/" }, "not an executable file"},
		{"not executable", func(a *Agent) { a.Path = notExec }, "not an executable file"},
		{"negative timeout", func(a *Agent) { a.Timeout = -1 }, "want more than 0"},
		{"huge timeout", func(a *Agent) { a.Timeout = MaxTimeout + 1 }, "at most"},
		{"interval over timeout", func(a *Agent) { a.ConfirmInterval = a.Timeout + 1 }, "within the timeout"},
		{"bad plug param", func(a *Agent) { a.PlugParam = "action" }, "plug parameter"},
		{"duplicate", func(a *Agent) {
			a.Options = []Option{{Name: "ip", Ref: "a"}, {Name: "IP", Ref: "b"}}
		}, "twice"},
		{"dash and underscore", func(a *Agent) {
			a.Options = []Option{{Name: "api_version", Ref: "a"}, {Name: "api-version", Ref: "b"}}
		}, "twice"},
		{"unset variable", func(a *Agent) {
			a.Options = []Option{{Name: "password", Source: Env, Ref: "FENCEAGENT_TEST_UNSET"}}
		}, "is not set"},
		{"literal secret", func(a *Agent) { a.Options = []Option{{Name: "password", Ref: "x"}} }, "from a file"},
	} {
		a := *base
		tc.edit(&a)
		if err := a.Validate(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%s: Validate = %v; want ErrInvalid saying %q", tc.name, err, tc.why)
		}
	}
	if err := base.Validate(); err != nil {
		t.Fatalf("the fake agent: %v", err)
	}
}
