package marathon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"sort"
	"strings"
)

// This file holds the JSON plumbing shared by every definition type: an
// object keeps all of its raw members, decodes only the ones it models, and
// writes the modelled ones back over the raw ones, so a field zkfence does
// not know about survives a read-modify-write round trip unchanged.
//
// Decoding collects every type error with its JSON path, as Marathon's JSON
// reads do, instead of stopping at the first one: a definition with three
// wrong fields gets three errors.

// fields are the raw members of a JSON object.
type fields map[string]json.RawMessage

// DecodeError is one JSON value that cannot be read: a wrong type, or a
// required member that is missing. Path and Msg follow Marathon's own
// reads ("/container/volumes(0)/hostPath", "error.expected.jsnumber").
type DecodeError struct {
	Path string
	Msg  string
}

func (e *DecodeError) Error() string { return fmt.Sprintf("%s: %s", pathOrRoot(e.Path), e.Msg) }

// decodeErrors are all the DecodeErrors of one document.
type decodeErrors []*DecodeError

func (es decodeErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// prefixed puts prefix in front of the path of every error in err.
func prefixed(prefix string, err error) decodeErrors {
	var out decodeErrors
	for _, e := range asDecodeErrors(err) {
		out = append(out, &DecodeError{Path: prefix + e.Path, Msg: e.Msg})
	}
	return out
}

// asDecodeErrors turns any error from encoding/json or from a nested
// UnmarshalJSON into DecodeErrors.
func asDecodeErrors(err error) decodeErrors {
	var des decodeErrors
	var de *DecodeError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &des):
		return des
	case errors.As(err, &de):
		return decodeErrors{de}
	case errors.As(err, &te):
		path := ""
		if te.Field != "" {
			path = "/" + strings.ReplaceAll(te.Field, ".", "/")
		}
		return decodeErrors{{Path: path, Msg: expectedMsg(te.Type)}}
	}
	return decodeErrors{{Msg: err.Error()}}
}

// expectedMsg is Play JSON's message for a value that is not of type t.
func expectedMsg(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "error.expected.jsstring"
	case reflect.Bool:
		return "error.expected.jsboolean"
	case reflect.Slice, reflect.Array:
		return "error.expected.jsarray"
	case reflect.Map, reflect.Struct:
		return "error.expected.jsobject"
	}
	return "error.expected.jsnumber"
}

// decodeObject reads data, a JSON object, into the exported fields of the
// struct v points to, following their json tags. A field tagged
// `required:"true"` must be present: Marathon's reads answer
// "'name' is undefined on object: {...}" when it is not. It returns all
// members, modelled or not, for encodeObject.
func decodeObject(data []byte, v any) (fields, error) {
	var raw fields
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, decodeErrors{{Msg: "error.expected.jsobject"}}
	}
	if raw == nil { // the literal null
		return nil, nil
	}
	var errs decodeErrors
	for m := range members(v) {
		b, present := raw[m.name]
		if !present || isNull(b) {
			if m.required {
				errs = append(errs, &DecodeError{Path: "/" + m.name, Msg: undefinedMsg(m.name, data)})
			}
			continue
		}
		if err := decodeValue(b, m.value.Addr().Interface()); err != nil {
			errs = append(errs, prefixed("/"+m.name, err)...)
		}
	}
	if len(errs) > 0 {
		return raw, errs
	}
	return raw, nil
}

// undefinedMsg is Play JSON's message for a missing member.
func undefinedMsg(name string, object []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, object); err != nil {
		buf.Reset()
		buf.Write(object)
	}
	return fmt.Sprintf("'%s' is undefined on object: %s", name, buf.String())
}

// decodeValue reads data into the value dst points to. Slices are decoded
// element by element so that an error names its index, as in "/volumes(1)".
func decodeValue(data json.RawMessage, dst any) error {
	rv := reflect.ValueOf(dst).Elem()
	if rv.Kind() != reflect.Slice || rv.Type() == reflect.TypeOf(json.RawMessage(nil)) {
		if err := json.Unmarshal(data, dst); err != nil {
			return asDecodeErrors(err)
		}
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil {
		return decodeErrors{{Msg: "error.expected.jsarray"}}
	}
	out := reflect.MakeSlice(rv.Type(), len(items), len(items))
	var errs decodeErrors
	for i, item := range items {
		if err := decodeValue(item, out.Index(i).Addr().Interface()); err != nil {
			errs = append(errs, prefixed(fmt.Sprintf("(%d)", i), err)...)
		}
	}
	rv.Set(out)
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// encodeObject writes the modelled fields of the struct v points to over the
// raw members it was read from. A field that is nil or an empty string is
// left out; numbers and booleans are always written.
func encodeObject(v any, raw fields) ([]byte, error) {
	out := make(map[string]json.RawMessage, len(raw))
	for k, b := range raw {
		out[k] = b
	}
	for m := range members(v) {
		if isUnset(m.value) {
			delete(out, m.name)
			continue
		}
		b, err := marshalPlain(m.value.Interface())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.name, err)
		}
		out[m.name] = b
	}
	return marshalPlain(out)
}

// marshalPlain is json.Marshal without the HTML escaping of & < >, which
// would make a rendered shell command unreadable ("\u0026\u0026").
func marshalPlain(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func isUnset(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		return v.IsNil()
	case reflect.String:
		return v.Len() == 0
	}
	return false
}

// member is one modelled field of a definition type: an exported field
// with a json tag.
type member struct {
	name     string        // the JSON member name
	required bool          // tagged `required:"true"`
	value    reflect.Value // the field of the struct, settable
}

// members walks the modelled fields of the struct v points to, in their
// order of declaration: decodeObject and encodeObject see the same ones.
func members(v any) iter.Seq[member] {
	return func(yield func(member) bool) {
		rv := reflect.ValueOf(v).Elem()
		rt := rv.Type()
		for i := 0; i < rt.NumField(); i++ {
			name, ok := jsonName(rt.Field(i))
			if !ok {
				continue
			}
			if !yield(member{name, rt.Field(i).Tag.Get("required") == "true", rv.Field(i)}) {
				return
			}
		}
	}
}

// jsonName is the member name of an exported field with a json tag.
func jsonName(f reflect.StructField) (string, bool) {
	if !f.IsExported() {
		return "", false
	}
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" || name == "-" {
		return "", false
	}
	return name, true
}

func isNull(b json.RawMessage) bool { return string(bytes.TrimSpace(b)) == "null" }

// sortedKeys returns the keys of m in order, for deterministic output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
