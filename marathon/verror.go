package marathon

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrBadInput marks input that is not a definition at all: not JSON, an
// unknown kind, an update without "from" or "to".
var ErrBadInput = errors.New("bad input")

// ValidationError is a definition Marathon would refuse, in the shape of
// Marathon's HTTP 422 body (api/v2/Validation.scala, failureWrites):
//
//	{"message":"Object is not valid","details":[{"path":"/role","errors":["..."]}]}
//
// Message is "Invalid JSON" when a member has the wrong type or a required
// member is missing (Marathon's JSON reads), and "Object is not valid" when
// the definition reads but breaks a rule.
type ValidationError struct {
	Message string   `json:"message"`
	Details []Detail `json:"details"`
}

// Detail is the errors at one path. The path of the whole object is "/".
type Detail struct {
	Path   string   `json:"path"`
	Errors []string `json:"errors"`
}

const (
	msgNotValid    = "Object is not valid"
	msgInvalidJSON = "Invalid JSON"
)

func (e *ValidationError) Error() string {
	var parts []string
	for _, d := range e.Details {
		for _, m := range d.Errors {
			parts = append(parts, d.Path+": "+m)
		}
	}
	return e.Message + ": " + strings.Join(parts, "; ")
}

// JSON is the error as Marathon's 422 body, indented.
func (e *ValidationError) JSON() []byte {
	b, _ := json.MarshalIndent(e, "", "  ") // only strings: cannot fail
	return b
}

// Has reports whether some error at path contains substr ("" matches any path).
func (e *ValidationError) Has(path, substr string) bool {
	for _, d := range e.Details {
		if path != "" && d.Path != path {
			continue
		}
		for _, m := range d.Errors {
			if strings.Contains(m, substr) {
				return true
			}
		}
	}
	return false
}

// violations collects rule violations in the order the rules found them.
// Like Marathon's, one path may carry several errors, and the same error
// at the same path is reported once.
type violations struct {
	paths  []string
	byPath map[string][]string
}

func (v *violations) add(path, msg string) {
	path = pathOrRoot(path)
	if v.byPath == nil {
		v.byPath = map[string][]string{}
	}
	msgs, seen := v.byPath[path]
	if !seen {
		v.paths = append(v.paths, path)
	}
	for _, m := range msgs {
		if m == msg {
			return
		}
	}
	v.byPath[path] = append(msgs, msg)
}

func (v *violations) addf(path, format string, args ...any) {
	v.add(path, fmt.Sprintf(format, args...))
}

func (v *violations) empty() bool { return len(v.paths) == 0 }

// merge adds all of o's violations.
func (v *violations) merge(o *violations) {
	for _, p := range o.paths {
		for _, m := range o.byPath[p] {
			v.add(p, m)
		}
	}
}

// err is the ValidationError for the collected violations, or nil.
func (v *violations) err(message string) error {
	if v.empty() {
		return nil
	}
	e := &ValidationError{Message: message}
	for _, p := range v.paths {
		e.Details = append(e.Details, Detail{Path: p, Errors: v.byPath[p]})
	}
	return e
}

// fromDecode turns decode errors into violations.
func fromDecode(prefix string, err error) *violations {
	v := &violations{}
	for _, e := range asDecodeErrors(err) {
		v.add(prefix+e.Path, e.Msg)
	}
	return v
}

func pathOrRoot(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// jdouble formats f as Java's Double.toString does, which is how Marathon's
// messages print numbers: 0.0, 1.0, 0.1, 1.0E-4, 1.0E7.
func jdouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	mant, exp, _ := strings.Cut(strconv.FormatFloat(f, 'e', -1, 64), "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	n, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(n)
}
