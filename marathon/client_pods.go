package marathon

import (
	"context"
	"net/url"
)

// The pod endpoints: /v2/pods/{id} for the definition, /v2/pods/{id}::status
// for the instances, /v2/pods/{id}::instances/{instanceId} to kill one.
// Marathon answers a pod deployment with the pod and the header
// Marathon-Deployment-Id.

const deploymentHeader = "Marathon-Deployment-Id"

// PodStatus is the status of a pod and its instances (GET /v2/pods/{id}::status).
type PodStatus struct {
	ID        string        `json:"id"`
	Status    string        `json:"status"`
	Instances []PodInstance `json:"instances,omitempty"`
}

// PodInstance is one instance of a pod.
type PodInstance struct {
	ID            string            `json:"id"`
	Status        string            `json:"status"`
	AgentHostname string            `json:"agentHostname,omitempty"`
	AgentID       string            `json:"agentId,omitempty"`
	Containers    []ContainerStatus `json:"containers,omitempty"`
	LocalVolumes  []LocalVolume     `json:"localVolumes,omitempty"`
}

// ContainerStatus is the status of one container of a pod instance.
type ContainerStatus struct {
	Name        string `json:"name"`
	Status      string `json:"status"` // a Mesos task state: TASK_RUNNING, ...
	ContainerID string `json:"containerId,omitempty"`
}

// Pod reads a pod's definition (GET /v2/pods/{id}) as raw JSON.
func (c *Client) Pod(ctx context.Context, id string) ([]byte, error) {
	var out rawJSON
	if err := c.do(ctx, "GET", podPath(id), nil, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// CreatePod posts a new pod (POST /v2/pods; 201).
func (c *Client) CreatePod(ctx context.Context, def []byte) (DeployResult, error) {
	r, err := c.sendPod(ctx, "POST", "/v2/pods", nil, def)
	if err != nil {
		return DeployResult{}, err
	}
	r.Created = true
	return r, nil
}

// UpdatePod replaces a pod's definition (PUT /v2/pods/{id}; 200 or 201).
func (c *Client) UpdatePod(ctx context.Context, id string, def []byte, force bool) (DeployResult, error) {
	r, err := c.sendPod(ctx, "PUT", podPath(id), forceQuery(force), def)
	if err != nil {
		return DeployResult{}, err
	}
	r.Forced = force
	return r, nil
}

// sendPod sends a pod definition and reads the answer: the pod, with its
// version, and the deployment in a header.
func (c *Client) sendPod(ctx context.Context, method, path string, query url.Values, def []byte) (DeployResult, error) {
	var out struct {
		Version string `json:"version"`
	}
	h, err := c.doHeader(ctx, method, path, query, def, &out)
	if err != nil {
		return DeployResult{}, err
	}
	return DeployResult{DeploymentID: h.Get(deploymentHeader), Version: out.Version}, nil
}

// podPath is the path of a pod: /v2/pods/{id}.
func podPath(id string) string { return "/v2/pods" + absolutePath(id) }

// PodStatus reads a pod's instances with their agents and local volumes.
func (c *Client) PodStatus(ctx context.Context, id string) (PodStatus, error) {
	var out PodStatus
	err := c.do(ctx, "GET", podPath(id)+"::status", nil, nil, &out)
	return out, err
}

// DetachedPodVolumes lists the volumes of a pod's instances none of whose
// containers is running.
func (c *Client) DetachedPodVolumes(ctx context.Context, id string) ([]DetachedVolume, error) {
	st, err := c.PodStatus(ctx, id)
	if err != nil {
		return nil, err
	}
	var out []DetachedVolume
	for _, in := range st.Instances {
		if !in.running() {
			out = appendDetached(out, in.ID, in.AgentHostname, in.AgentID, in.LocalVolumes)
		}
	}
	return out, nil
}

func (in PodInstance) running() bool {
	for _, c := range in.Containers {
		if c.Status == "TASK_RUNNING" {
			return true
		}
	}
	return false
}

// WipePodInstance kills a pod instance and destroys its local volumes
// (DELETE /v2/pods/{id}::instances/{instanceId}?wipe=true): its data is gone.
func (c *Client) WipePodInstance(ctx context.Context, podID, instanceID string) (PodInstance, error) {
	var out PodInstance
	q := url.Values{"wipe": {"true"}}
	err := c.do(ctx, "DELETE", podPath(podID)+"::instances/"+instanceID, q, nil, &out)
	return out, err
}
