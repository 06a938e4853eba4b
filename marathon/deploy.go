package marathon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// DeployOptions tune Deploy.
type DeployOptions struct {
	// Force sends ?force=true even when the role does not change: it
	// overrides a deployment in progress. Use it knowingly.
	Force bool
	// MesosRole is Marathon's --mesos_role for the local validation;
	// when empty Deploy asks Marathon (GET /v2/info).
	MesosRole string
	// SkipValidation sends the definition without validating it first.
	SkipValidation bool
	// Features are Marathon's --enable_features for the local validation;
	// when nil and the app has an external volume, Deploy asks Marathon
	// (GET /v2/info), which refuses such an app without external_volumes.
	Features []string
}

// Deploy creates or updates an app (kind KindApp) or a pod (KindPod):
//
//  1. it reads the service's current definition; 404 means a new service;
//  2. a definition without a role keeps the current role (it is written
//     into the definition, so that what is sent says what runs);
//  3. it validates the definition as Marathon would, including the role
//     rules against the current role and the update rules of resident
//     services, so that a refusal comes with all its reasons before
//     anything changes;
//  4. it posts a new service, or puts the new definition, with ?force=true
//     when the role changes (Marathon requires it: existing instances keep
//     their reservations under the old role until they are replaced) or
//     when opts.Force is set.
func (c *Client) Deploy(ctx context.Context, kind Kind, def []byte, opts DeployOptions) (DeployResult, error) {
	if kind != KindApp && kind != KindPod {
		return DeployResult{}, fmt.Errorf("%w: deploy an app or a pod, not %q", ErrBadInput, kind)
	}
	var head struct {
		ID   string `json:"id"`
		Role string `json:"role"`
	}
	if err := json.Unmarshal(def, &head); err != nil || head.ID == "" {
		return DeployResult{}, fmt.Errorf("%w: the definition is not a JSON object with an id", ErrBadInput)
	}
	current, err := c.current(ctx, kind, head.ID)
	if err != nil {
		return DeployResult{}, err
	}
	vopts := Options{Rules: RulesHead, MesosRole: opts.MesosRole, Features: opts.Features}
	needFeatures := opts.Features == nil && kind == KindApp && hasExternalVolumes(def)
	if !opts.SkipValidation && (vopts.MesosRole == "" || needFeatures) {
		info, err := c.Info(ctx)
		if err != nil {
			return DeployResult{}, err
		}
		if vopts.MesosRole == "" {
			vopts.MesosRole = info.MesosRole
		}
		if needFeatures {
			vopts.Features = info.Features
		}
	}
	force := opts.Force
	if current != nil {
		prev := effectiveRole(kind, current, vopts)
		if head.Role == "" && prev != "" {
			if def, err = withMember(def, "role", prev); err != nil {
				return DeployResult{}, err
			}
		} else if head.Role != "" && prev != "" && head.Role != prev {
			force = true
		}
		vopts.PreviousRole, vopts.Force = prev, force
	}
	if !opts.SkipValidation {
		if err := c.validateDeploy(kind, current, def, vopts); err != nil {
			return DeployResult{}, err
		}
	}
	return c.send(ctx, kind, head.ID, current == nil, def, force)
}

// hasExternalVolumes: an app definition with an external volume.
func hasExternalVolumes(def []byte) bool {
	var a App
	return json.Unmarshal(def, &a) == nil && a.hasExternalVolumes()
}

// current is the service's definition, or nil when there is none.
func (c *Client) current(ctx context.Context, kind Kind, id string) ([]byte, error) {
	get := c.App
	if kind == KindPod {
		get = c.Pod
	}
	def, err := get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return def, err
}

func (c *Client) validateDeploy(kind Kind, current, def []byte, opts Options) error {
	if current == nil {
		return Validate(kind, def, opts)
	}
	return ValidateUpdate(kind, current, def, opts)
}

func (c *Client) send(ctx context.Context, kind Kind, id string, create bool, def []byte, force bool) (DeployResult, error) {
	switch {
	case kind == KindApp && create:
		return c.CreateApp(ctx, def)
	case kind == KindApp:
		return c.UpdateApp(ctx, id, def, force)
	case create:
		return c.CreatePod(ctx, def)
	}
	return c.UpdatePod(ctx, id, def, force)
}

// withMember sets one member of a JSON object, keeping the others.
func withMember(obj []byte, name, value string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		return nil, fmt.Errorf("%w: the definition is not a JSON object", ErrBadInput)
	}
	b, _ := json.Marshal(value) // a string: cannot fail
	m[name] = b
	return json.Marshal(m)
}
