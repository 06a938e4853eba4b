package marathon

// The types below model the parts of Marathon's pod definition (RAML type
// Pod, /v2/pods) that matter for a fenced, resident database. Like the app
// types, they keep and write back every member they do not model.

// Pod is a Marathon pod definition.
type Pod struct {
	ID         string            `json:"id" required:"true"`
	Role       string            `json:"role,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	User       string            `json:"user,omitempty"`
	Containers []PodContainer    `json:"containers" required:"true"`
	Volumes    []PodVolume       `json:"volumes,omitempty"`
	Networks   []Network         `json:"networks,omitempty"`
	Scaling    *PodScaling       `json:"scaling,omitempty"`
	Scheduling *PodScheduling    `json:"scheduling,omitempty"`

	raw fields
}

// PodContainer is one container of a pod.
type PodContainer struct {
	Name         string              `json:"name" required:"true"`
	Exec         *PodExec            `json:"exec,omitempty"`
	Resources    *Resources          `json:"resources,omitempty"`
	Endpoints    []Endpoint          `json:"endpoints,omitempty"`
	Image        *Image              `json:"image,omitempty"`
	HealthCheck  *PodHealthCheck     `json:"healthCheck,omitempty"`
	VolumeMounts []VolumeMount       `json:"volumeMounts,omitempty"`
	Lifecycle    *Lifecycle          `json:"lifecycle,omitempty"`
	Environment  map[string]EnvValue `json:"environment,omitempty"`

	raw fields
}

// PodExec is what a pod container runs.
type PodExec struct {
	Command PodCommand `json:"command" required:"true"`

	raw fields
}

// PodCommand is a shell command or an argv.
type PodCommand struct {
	Shell *string  `json:"shell,omitempty"`
	Argv  []string `json:"argv,omitempty"`

	raw fields
}

// Resources of a pod container. Left-out members take Marathon's RAML
// defaults: cpus 1.0, mem 128, disk 0, gpus 0.
type Resources struct {
	CPUs *float64 `json:"cpus,omitempty"`
	Mem  *float64 `json:"mem,omitempty"`
	Disk *float64 `json:"disk,omitempty"`
	GPUs *int     `json:"gpus,omitempty"`

	raw fields
}

// Endpoint is a named port of a pod container.
type Endpoint struct {
	Name          string   `json:"name" required:"true"`
	ContainerPort *int     `json:"containerPort,omitempty"`
	HostPort      *int     `json:"hostPort,omitempty"`
	Protocol      []string `json:"protocol,omitempty"`
	NetworkNames  []string `json:"networkNames,omitempty"`

	raw fields
}

// Image is a pod container's image.
type Image struct {
	Kind string `json:"kind,omitempty"`
	ID   string `json:"id" required:"true"`

	raw fields
}

// PodHealthCheck is a pod container's health check: exactly one of HTTP,
// TCP or Exec.
type PodHealthCheck struct {
	HTTP                   *EndpointCheck `json:"http,omitempty"`
	TCP                    *EndpointCheck `json:"tcp,omitempty"`
	Exec                   *fields        `json:"exec,omitempty"`
	GracePeriodSeconds     *int           `json:"gracePeriodSeconds,omitempty"`
	IntervalSeconds        *int           `json:"intervalSeconds,omitempty"`
	TimeoutSeconds         *int           `json:"timeoutSeconds,omitempty"`
	MaxConsecutiveFailures *int           `json:"maxConsecutiveFailures,omitempty"`
	DelaySeconds           *int           `json:"delaySeconds,omitempty"`

	raw fields
}

// EndpointCheck is an HTTP or TCP check against a named endpoint.
type EndpointCheck struct {
	Endpoint string `json:"endpoint" required:"true"`
	Path     string `json:"path,omitempty"`
	Scheme   string `json:"scheme,omitempty"`

	raw fields
}

// Lifecycle of a pod container.
type Lifecycle struct {
	KillGracePeriodSeconds *float64 `json:"killGracePeriodSeconds,omitempty"`

	raw fields
}

// VolumeMount mounts a pod volume into a container.
type VolumeMount struct {
	Name      string `json:"name" required:"true"`
	MountPath string `json:"mountPath" required:"true"`
	ReadOnly  *bool  `json:"readOnly,omitempty"`

	raw fields
}

// PodVolume is a pod-level volume: persistent, host, secret, or else ephemeral.
type PodVolume struct {
	Name       string                `json:"name" required:"true"`
	Persistent *PersistentVolumeInfo `json:"persistent,omitempty"`
	Host       *string               `json:"host,omitempty"`
	Secret     *string               `json:"secret,omitempty"`

	raw fields
}

// PodScaling is the scaling policy; Marathon only knows kind "fixed".
type PodScaling struct {
	Kind      string `json:"kind,omitempty"`
	Instances *int   `json:"instances,omitempty"`

	raw fields
}

// PodScheduling is a pod's scheduling policy.
type PodScheduling struct {
	Upgrade             *UpgradeStrategy     `json:"upgrade,omitempty"`
	Placement           *PodPlacement        `json:"placement,omitempty"`
	UnreachableStrategy *UnreachableStrategy `json:"unreachableStrategy,omitempty"`
	Backoff             *PodBackoff          `json:"backoff,omitempty"`

	raw fields
}

// PodBackoff is a pod's launch backoff.
type PodBackoff struct {
	Backoff        *float64 `json:"backoff,omitempty"`
	BackoffFactor  *float64 `json:"backoffFactor,omitempty"`
	MaxLaunchDelay *float64 `json:"maxLaunchDelay,omitempty"`

	raw fields
}

// PodPlacement holds a pod's placement constraints and accepted roles.
type PodPlacement struct {
	Constraints           []PodConstraint `json:"constraints,omitempty"`
	AcceptedResourceRoles []string        `json:"acceptedResourceRoles,omitempty"`

	raw fields
}

// PodConstraint is a placement constraint in the pod (object) form.
type PodConstraint struct {
	FieldName string  `json:"fieldName" required:"true"`
	Operator  string  `json:"operator" required:"true"`
	Value     *string `json:"value,omitempty"`

	raw fields
}
