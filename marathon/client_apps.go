package marathon

import (
	"context"
	"fmt"
	"net/url"
)

// Task is one task of an app (GET /v2/apps/{id}/tasks). A resident task
// that is not running (its app was scaled down, or it is waiting for its
// agent) has local volumes but no startedAt.
type Task struct {
	ID           string        `json:"id"`
	AppID        string        `json:"appId"`
	Host         string        `json:"host"`
	SlaveID      string        `json:"slaveId,omitempty"` // the Mesos agent
	State        string        `json:"state,omitempty"`
	StagedAt     string        `json:"stagedAt,omitempty"`
	StartedAt    string        `json:"startedAt,omitempty"`
	Version      string        `json:"version,omitempty"`
	Ports        []int         `json:"ports,omitempty"`
	LocalVolumes []LocalVolume `json:"localVolumes,omitempty"`
}

// LocalVolume is a local persistent volume of a task or pod instance.
type LocalVolume struct {
	RunSpecID     string `json:"runSpecId,omitempty"`
	ContainerPath string `json:"containerPath"`
	UUID          string `json:"uuid,omitempty"`
	PersistenceID string `json:"persistenceId"`
}

// DetachedVolume is a local persistent volume whose task is not running:
// it still holds its reservation on its agent until the task is wiped.
type DetachedVolume struct {
	TaskID        string `json:"taskId"` // the task, or the pod instance
	Host          string `json:"host"`
	AgentID       string `json:"agentId"`
	ContainerPath string `json:"containerPath"`
	PersistenceID string `json:"persistenceId"`
}

// DeployResult is what Marathon answered to a deployment.
type DeployResult struct {
	Created      bool   `json:"created"` // a new service; else an update
	Forced       bool   `json:"forced"`  // sent with ?force=true
	DeploymentID string `json:"deploymentId,omitempty"`
	Version      string `json:"version,omitempty"`
}

// ServerInfo is what validation needs of Marathon's configuration.
type ServerInfo struct {
	MesosRole string   // --mesos_role ("*" when unset)
	Features  []string // --enable_features
}

// Info asks Marathon for its configuration (GET /v2/info, marathon_config).
func (c *Client) Info(ctx context.Context) (ServerInfo, error) {
	var info struct {
		Config struct {
			MesosRole string   `json:"mesos_role"`
			Features  []string `json:"features"`
		} `json:"marathon_config"`
	}
	if err := c.do(ctx, "GET", "/v2/info", nil, nil, &info); err != nil {
		return ServerInfo{}, err
	}
	out := ServerInfo{MesosRole: info.Config.MesosRole, Features: info.Config.Features}
	if out.MesosRole == "" {
		out.MesosRole = "*"
	}
	if out.Features == nil {
		out.Features = []string{}
	}
	return out, nil
}

// MesosRole asks Marathon for its --mesos_role (GET /v2/info).
func (c *Client) MesosRole(ctx context.Context) (string, error) {
	info, err := c.Info(ctx)
	return info.MesosRole, err
}

// App reads an app's definition (GET /v2/apps/{id}), as raw JSON so that
// nothing is lost when it is compared or sent back.
func (c *Client) App(ctx context.Context, id string) ([]byte, error) {
	var out struct {
		App rawJSON `json:"app"`
	}
	if err := c.do(ctx, "GET", appPath(id), nil, nil, &out); err != nil {
		return nil, err
	}
	return out.App, nil
}

// CreateApp posts a new app (POST /v2/apps; 201 with the app and its deployments).
func (c *Client) CreateApp(ctx context.Context, def []byte) (DeployResult, error) {
	var out struct {
		Version     string `json:"version"`
		Deployments []struct {
			ID string `json:"id"`
		} `json:"deployments"`
	}
	if err := c.do(ctx, "POST", "/v2/apps", nil, def, &out); err != nil {
		return DeployResult{}, err
	}
	r := DeployResult{Created: true, Version: out.Version}
	if len(out.Deployments) > 0 {
		r.DeploymentID = out.Deployments[0].ID
	}
	return r, nil
}

// UpdateApp replaces an app's definition (PUT /v2/apps/{id}; 200 or 201
// with {"deploymentId", "version"}). force overrides a running deployment
// and allows a resident app to change its role.
func (c *Client) UpdateApp(ctx context.Context, id string, def []byte, force bool) (DeployResult, error) {
	var out struct {
		DeploymentID string `json:"deploymentId"`
		Version      string `json:"version"`
	}
	if err := c.do(ctx, "PUT", appPath(id), forceQuery(force), def, &out); err != nil {
		return DeployResult{}, err
	}
	return DeployResult{Forced: force, DeploymentID: out.DeploymentID, Version: out.Version}, nil
}

// Tasks lists an app's tasks with their local volumes (GET /v2/apps/{id}/tasks).
func (c *Client) Tasks(ctx context.Context, appID string) ([]Task, error) {
	var out struct {
		Tasks []Task `json:"tasks"`
	}
	if err := c.do(ctx, "GET", appPath(appID)+"/tasks", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Tasks, nil
}

// DetachedVolumes lists the volumes of an app's tasks that are not running.
func (c *Client) DetachedVolumes(ctx context.Context, appID string) ([]DetachedVolume, error) {
	tasks, err := c.Tasks(ctx, appID)
	if err != nil {
		return nil, err
	}
	var out []DetachedVolume
	for _, t := range tasks {
		if t.StartedAt == "" {
			out = appendDetached(out, t.ID, t.Host, t.SlaveID, t.LocalVolumes)
		}
	}
	return out, nil
}

// KillOptions are the flags of a task kill.
type KillOptions struct {
	Wipe  bool // forget the task, unreserve its resources and destroy its volumes
	Scale bool // scale the app down instead of relaunching the task
}

// KillTask kills one task (DELETE /v2/apps/{id}/tasks/{taskId}). Marathon
// cannot scale and wipe in one request, so that combination is refused
// before anything is sent: scale the app down first, then wipe.
func (c *Client) KillTask(ctx context.Context, appID, taskID string, o KillOptions) (Task, error) {
	if o.Wipe && o.Scale {
		return Task{}, fmt.Errorf("%w: scale the app down first, then wipe the task", ErrScaleAndWipe)
	}
	q := url.Values{}
	if o.Wipe {
		q.Set("wipe", "true")
	}
	if o.Scale {
		q.Set("scale", "true")
	}
	var out struct {
		Task Task `json:"task"`
	}
	err := c.do(ctx, "DELETE", appPath(appID)+"/tasks/"+taskID, q, nil, &out)
	return out.Task, err
}

// WipeTask kills a task and destroys its local volumes: its data is gone.
func (c *Client) WipeTask(ctx context.Context, appID, taskID string) (Task, error) {
	return c.KillTask(ctx, appID, taskID, KillOptions{Wipe: true})
}

// appPath is the path of an app: /v2/apps/{id}.
func appPath(id string) string { return "/v2/apps" + absolutePath(id) }

// appendDetached adds the local volumes of a task or pod instance that is
// not running to out, with where they are reserved.
func appendDetached(out []DetachedVolume, taskID, host, agentID string, vols []LocalVolume) []DetachedVolume {
	for _, v := range vols {
		out = append(out, DetachedVolume{TaskID: taskID, Host: host, AgentID: agentID,
			ContainerPath: v.ContainerPath, PersistenceID: v.PersistenceID})
	}
	return out
}

func forceQuery(force bool) url.Values {
	if !force {
		return nil
	}
	return url.Values{"force": {"true"}}
}

// rawJSON keeps a JSON value as it was received.
type rawJSON []byte

func (r *rawJSON) UnmarshalJSON(b []byte) error {
	*r = append((*r)[:0], b...)
	return nil
}
