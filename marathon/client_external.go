package marathon

import (
	"context"
	"encoding/json"
	"fmt"
)

// An app's external volumes are in its definition, not in its tasks:
// Marathon's task list (GET /v2/apps/{id}/tasks) shows local volumes only,
// because an external volume is not a reservation on an agent. It is a
// volume of a storage service that the agent running the task attaches;
// it outlives every task, and no task "holds" it when none runs, so there
// is no detached volume to list and nothing for a wipe to destroy.

// ExternalVolume is one external volume of an app.
type ExternalVolume struct {
	ContainerPath string `json:"containerPath"`
	Name          string `json:"name"`
	Provider      string `json:"provider"`
	Driver        string `json:"driver,omitempty"` // dvdi/driver
	SizeGiB       int64  `json:"sizeGiB,omitempty"`
	Shared        bool   `json:"shared,omitempty"`
}

// String names the volume as "provider/driver:name".
func (v ExternalVolume) String() string {
	if v.Driver != "" {
		return fmt.Sprintf("%s/%s:%s", v.Provider, v.Driver, v.Name)
	}
	return v.Provider + ":" + v.Name
}

// ExternalVolumes lists the external volumes of an app (GET /v2/apps/{id}).
func (c *Client) ExternalVolumes(ctx context.Context, appID string) ([]ExternalVolume, error) {
	def, err := c.App(ctx, appID)
	if err != nil {
		return nil, err
	}
	return ExternalVolumesOf(def)
}

// ExternalVolumesOf lists the external volumes of an app definition.
func ExternalVolumesOf(def []byte) ([]ExternalVolume, error) {
	var a App
	if err := json.Unmarshal(def, &a); err != nil {
		return nil, fmt.Errorf("%w: the app definition: %v", ErrBadInput, err)
	}
	if a.Container == nil {
		return nil, nil
	}
	var out []ExternalVolume
	for _, v := range a.Container.Volumes {
		e := v.External
		if e == nil {
			continue
		}
		out = append(out, ExternalVolume{ContainerPath: deref(v.ContainerPath), Name: deref(e.Name),
			Provider: deref(e.Provider), Driver: e.Options[dvdiDriverOption], SizeGiB: deref(e.Size), Shared: deref(e.Shared)})
	}
	return out, nil
}
