package marathon

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Kind says what a document to validate is.
type Kind string

// The kinds Validate knows. A volume is one entry of an app's
// container.volumes and a container is an app's container object; both are
// checked in place, so their error paths are the ones Marathon gives for
// them inside an app ("/container/volumes(0)/persistent/size"). An update is
// {"from": old, "to": new} and is checked with the update rules only.
const (
	KindApp       Kind = "app"
	KindPod       Kind = "pod"
	KindVolume    Kind = "volume"
	KindContainer Kind = "container"
	KindAppUpdate Kind = "update-app"
	KindPodUpdate Kind = "update-pod"
)

// RuleSet says which of Marathon's rules apply.
type RuleSet string

const (
	// RulesHead is Marathon 1.9 and later as a whole: the definition rules
	// and the role enforcement of 1.9 (resident services may not use role
	// "*", a resident service's role may change only with force).
	RulesHead RuleSet = "head"
	// RulesSchema is the definition rules alone, without role enforcement
	// (what Marathon's own validator unit tests run).
	RulesSchema RuleSet = "schema"
	// RulesLegacy is RulesSchema plus the rule of Marathon 1.1-1.5 that an
	// app with residency must have persistent volumes (removed in 1.6).
	RulesLegacy RuleSet = "legacy"
)

// Options describe the Marathon that would receive the definition.
type Options struct {
	// Rules defaults to RulesHead.
	Rules RuleSet
	// MesosRole is Marathon's --mesos_role; empty means Marathon's default "*".
	MesosRole string
	// PreviousRole is the role of the service as it exists now; empty for a
	// new service. Like Marathon, only a service below a top-level group
	// has its previous role checked (RoleSettings.forService).
	PreviousRole string
	// Force is ?force=true: allows a resident service to change its role.
	Force bool
	// EnforceGroupRole is the top-level group's enforceRole: its services
	// must use the group's role.
	EnforceGroupRole bool
	// Features are Marathon's --enable_features; external volumes need
	// "external_volumes".
	Features []string
}

// feature reports whether Marathon runs with the feature enabled.
func (o Options) feature(name string) bool {
	for _, f := range o.Features {
		if f == name {
			return true
		}
	}
	return false
}

func (o Options) rules() RuleSet {
	if o.Rules == "" {
		return RulesHead
	}
	return o.Rules
}

func (o Options) mesosRole() string {
	if o.MesosRole == "" {
		return "*"
	}
	return o.MesosRole
}

// Validate checks one document of the given kind against Marathon's rules.
// It returns nil when Marathon would accept it, a *ValidationError (the 422
// body) when Marathon would refuse it, and an error wrapping ErrBadInput
// when the document is not JSON or the kind is unknown.
func Validate(kind Kind, data []byte, opts Options) error {
	switch opts.rules() {
	case RulesHead, RulesSchema, RulesLegacy:
	default:
		return fmt.Errorf("%w: unknown rule set %q (want head, schema or legacy)", ErrBadInput, opts.Rules)
	}
	if !json.Valid(data) {
		return fmt.Errorf("%w: not valid JSON", ErrBadInput)
	}
	switch kind {
	case KindApp:
		return validateApp(data, opts)
	case KindPod:
		return validatePod(data, opts)
	case KindVolume:
		return validateVolumeDoc(data, opts)
	case KindContainer:
		return validateContainerDoc(data, opts)
	case KindAppUpdate, KindPodUpdate:
		from, to, err := splitUpdate(data)
		if err != nil {
			return err
		}
		if kind == KindAppUpdate {
			return validateAppUpdate(from, to, opts)
		}
		return validatePodUpdate(from, to, opts)
	}
	return fmt.Errorf("%w: unknown kind %q (want app, pod, volume, container, update-app or update-pod)", ErrBadInput, kind)
}

// ValidateUpdate checks a new definition of an existing service the way a
// PUT does: the definition rules on to, and the update rules for resident
// services from -> to. Unless opts.PreviousRole is set, the previous role is
// from's effective role. kind is KindApp or KindPod.
func ValidateUpdate(kind Kind, from, to []byte, opts Options) error {
	if kind != KindApp && kind != KindPod {
		return fmt.Errorf("%w: an update is of an app or a pod, not %q", ErrBadInput, kind)
	}
	if !json.Valid(from) || !json.Valid(to) {
		return fmt.Errorf("%w: not valid JSON", ErrBadInput)
	}
	if opts.PreviousRole == "" {
		opts.PreviousRole = effectiveRole(kind, from, opts)
	}
	all := &violations{}
	message := msgNotValid
	for _, err := range []error{Validate(kind, to, opts), validateUpdateOf(kind, from, to, opts)} {
		ve, ok := err.(*ValidationError)
		if err != nil && !ok {
			return err
		}
		if ok {
			if ve.Message == msgInvalidJSON {
				message = msgInvalidJSON
			}
			for _, d := range ve.Details {
				for _, m := range d.Errors {
					all.add(d.Path, m)
				}
			}
		}
	}
	return all.err(message)
}

func validateUpdateOf(kind Kind, from, to []byte, opts Options) error {
	if kind == KindApp {
		return validateAppUpdate(from, to, opts)
	}
	return validatePodUpdate(from, to, opts)
}

// splitUpdate reads {"from": ..., "to": ...}.
func splitUpdate(data []byte) (from, to []byte, err error) {
	var pair struct {
		From json.RawMessage `json:"from"`
		To   json.RawMessage `json:"to"`
	}
	if err := json.Unmarshal(data, &pair); err != nil || len(pair.From) == 0 || len(pair.To) == 0 {
		return nil, nil, fmt.Errorf("%w: an update is {\"from\": <definition>, \"to\": <definition>}", ErrBadInput)
	}
	return bytes.TrimSpace(pair.From), bytes.TrimSpace(pair.To), nil
}

// effectiveRole is the role a definition runs under: its own, or the
// default Marathon gives it. It is "" when the definition cannot be read.
func effectiveRole(kind Kind, data []byte, opts Options) string {
	if kind == KindApp {
		var a App
		if json.Unmarshal(data, &a) != nil {
			return ""
		}
		normalizeApp(&a, opts)
		return a.Role
	}
	var p Pod
	if json.Unmarshal(data, &p) != nil {
		return ""
	}
	normalizePod(&p, opts)
	return p.Role
}
