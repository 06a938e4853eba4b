package fenceagent

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// Source says where an option's value comes from.
type Source int

const (
	// Literal: the value is written in the configuration itself.
	Literal Source = iota
	// File: the value is the content of a file (one trailing newline
	// dropped), read each time the agent runs, so that a rotated secret is
	// picked up.
	File
	// Env: the value is an environment variable of this process, read each
	// time the agent runs.
	Env
)

// Option is one `name=value` line of the agent's stdin. Ref is the literal
// value, the file's path or the variable's name, depending on Source.
type Option struct {
	Name   string
	Source Source
	Ref    string
}

// maxValueFile bounds an option file: a secret or a short setting, never a
// blob.
const maxValueFile = 64 << 10

var nameRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)

// ParseOption reads NAME=VALUE (a literal), NAME=@PATH (the content of a
// file), NAME=env:VAR (an environment variable) or NAME=raw:VALUE (a literal
// that starts with @ or env:).
func ParseOption(s string) (Option, error) {
	name, v, ok := strings.Cut(s, "=")
	if !ok {
		// s may be a mistyped secret: never quote it.
		return Option{}, invalidf("a fence option has no '=': want NAME=VALUE, NAME=@FILE or NAME=env:VAR")
	}
	o := Option{Name: name, Ref: v}
	switch {
	case strings.HasPrefix(v, "@"):
		o.Source, o.Ref = File, v[1:]
	case strings.HasPrefix(v, "env:"):
		o.Source, o.Ref = Env, v[len("env:"):]
	case strings.HasPrefix(v, "raw:"):
		o.Ref = v[len("raw:"):]
	}
	return o, o.validate()
}

// String shows the option without its value: safe to log.
func (o Option) String() string {
	switch o.Source {
	case File:
		return o.Name + "=@" + o.Ref
	case Env:
		return o.Name + "=env:" + o.Ref
	}
	return o.Name + "=(literal)"
}

// Secret says whether the option's value must be redacted wherever it could
// show: every value from a file or the environment, and every value of an
// option whose name looks like a credential.
func (o Option) Secret() bool { return o.Source != Literal || secretName(o.Name) }

// secretName: password, passwd, snmp_priv_passwd, secret-key, community,
// apikey, token... but not password_script (a command, not a secret).
func secretName(name string) bool {
	n := strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(name))
	if strings.Contains(n, "script") {
		return false
	}
	for _, s := range []string{"passw", "secret", "community", "apikey", "token", "credential"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// reserved names are set by zkfence for each call.
var reserved = []string{"action", "plug", "port", "nodename"}

// validate checks what can be checked without reading the value's source.
// Errors never quote a value.
func (o Option) validate() error {
	if !nameRe.MatchString(o.Name) {
		return invalidf("fence option name %q: want letters, digits, - and _ (starting with a letter, at most 64)", o.Name)
	}
	for _, r := range reserved {
		if strings.EqualFold(o.Name, r) {
			return invalidf("fence option %s: zkfence sets %s itself", o.Name, r)
		}
	}
	switch o.Source {
	case File:
		if o.Ref == "" {
			return invalidf("fence option %s: @ needs a file path", o.Name)
		}
	case Env:
		if o.Ref == "" || strings.ContainsAny(o.Ref, "= \x00") {
			return invalidf("fence option %s: env: needs a variable name", o.Name)
		}
	case Literal:
		if secretName(o.Name) {
			return invalidf("fence option %s: give it from a file (%s=@/path) or the environment (%s=env:VAR), "+
				"not literally: a command line is visible to every user", o.Name, o.Name, o.Name)
		}
		return checkValue(o.Name, o.Ref)
	}
	return nil
}

// Value returns the option's value, reading its file or variable now.
func (o Option) Value() (string, error) {
	var v string
	switch o.Source {
	case Literal:
		v = o.Ref
	case Env:
		var ok bool
		if v, ok = os.LookupEnv(o.Ref); !ok {
			return "", invalidf("fence option %s: environment variable %s is not set", o.Name, o.Ref)
		}
	case File:
		var err error
		if v, err = readValueFile(o.Ref); err != nil {
			return "", invalidf("fence option %s: %v", o.Name, err)
		}
	}
	return v, checkValue(o.Name, v)
}

// readValueFile reads a regular file of at most maxValueFile bytes and
// drops one trailing newline.
func readValueFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxValueFile+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxValueFile {
		return "", fmt.Errorf("%s is larger than %d bytes", path, maxValueFile)
	}
	s := strings.TrimSuffix(string(b), "\n")
	return strings.TrimSuffix(s, "\r"), nil
}

// checkValue refuses a value the agent would not read back as given: the
// line protocol ends a value at a newline, and fencing.py strips blanks and
// one pair of surrounding double quotes. The value is never quoted.
func checkValue(name, v string) error {
	switch {
	case strings.ContainsAny(v, "\n\r\x00"):
		return invalidf("%s: the value contains a newline or NUL, which the agent's stdin protocol cannot carry", name)
	case strings.TrimSpace(v) != v:
		return invalidf("%s: the value starts or ends with a blank, which the agent would strip", name)
	case len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"':
		return invalidf("%s: the value is in double quotes, which the agent would strip", name)
	}
	return nil
}

// checkPlug refuses a fence id that is empty, too long or would break the
// protocol. A fence id may come from ZooKeeper, written by another node.
func checkPlug(plug string) error {
	if plug == "" {
		return invalidf("empty fence id")
	}
	if len(plug) > 255 {
		return invalidf("fence id longer than 255 bytes")
	}
	for _, r := range plug {
		if r < 0x20 || r == 0x7f {
			return invalidf("fence id %q contains a control character", plug)
		}
	}
	return checkValue("fence id", plug)
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// ValidateFenceID refuses (ErrInvalid) a fence id that Off or On would
// refuse as a plug: check a node's own id before recording it.
func ValidateFenceID(id string) error { return checkPlug(id) }
