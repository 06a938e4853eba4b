package marathon

import (
	"encoding/json"
	"fmt"
)

// The types below model the parts of Marathon's app definition (RAML type
// App, /v2/apps) that matter for a fenced, resident database. Every type
// keeps the members it does not model and writes them back unchanged, so
// reading a definition from Marathon, changing it and sending it back loses
// nothing. Optional scalars are pointers: Marathon treats an absent member
// and a zero value differently (an absent upgradeStrategy gets a default,
// an explicit 0 does not).

// App is a Marathon application definition.
type App struct {
	ID                    string               `json:"id" required:"true"`
	Cmd                   *string              `json:"cmd,omitempty"`
	Args                  []string             `json:"args,omitempty"`
	User                  string               `json:"user,omitempty"`
	Env                   map[string]EnvValue  `json:"env,omitempty"`
	Instances             *int                 `json:"instances,omitempty"`
	CPUs                  *float64             `json:"cpus,omitempty"`
	Mem                   *float64             `json:"mem,omitempty"`
	Disk                  *float64             `json:"disk,omitempty"`
	GPUs                  *int                 `json:"gpus,omitempty"`
	Role                  string               `json:"role,omitempty"`
	AcceptedResourceRoles []string             `json:"acceptedResourceRoles,omitempty"`
	Constraints           [][]string           `json:"constraints,omitempty"`
	Container             *Container           `json:"container,omitempty"`
	HealthChecks          []HealthCheck        `json:"healthChecks,omitempty"`
	Ports                 []int                `json:"ports,omitempty"`
	PortDefinitions       []PortDefinition     `json:"portDefinitions,omitempty"`
	RequirePorts          *bool                `json:"requirePorts,omitempty"`
	Networks              []Network            `json:"networks,omitempty"`
	IPAddress             *IPAddress           `json:"ipAddress,omitempty"`
	Labels                map[string]string    `json:"labels,omitempty"`
	Residency             *Residency           `json:"residency,omitempty"`
	UpgradeStrategy       *UpgradeStrategy     `json:"upgradeStrategy,omitempty"`
	UnreachableStrategy   *UnreachableStrategy `json:"unreachableStrategy,omitempty"`
	TaskKillGracePeriod   *float64             `json:"taskKillGracePeriodSeconds,omitempty"`

	raw fields
}

// Container is an app's container (RAML Container).
type Container struct {
	Type         string        `json:"type,omitempty"` // MESOS (default) or DOCKER
	Docker       *Docker       `json:"docker,omitempty"`
	AppC         *fields       `json:"appc,omitempty"`
	Volumes      []AppVolume   `json:"volumes,omitempty"`
	PortMappings []PortMapping `json:"portMappings,omitempty"`

	raw fields
}

// Docker is the docker member of a container (RAML DockerContainer).
type Docker struct {
	Image          string        `json:"image" required:"true"`
	Network        string        `json:"network,omitempty"` // deprecated: BRIDGE, HOST, USER, NONE
	PortMappings   []PortMapping `json:"portMappings,omitempty"`
	ForcePullImage *bool         `json:"forcePullImage,omitempty"`
	Privileged     *bool         `json:"privileged,omitempty"`

	raw fields
}

// AppVolume is one entry of container.volumes. Marathon tells the kinds
// apart by their members: persistent (a local persistent volume), external,
// secret, and otherwise a host volume, which needs hostPath.
type AppVolume struct {
	ContainerPath *string               `json:"containerPath,omitempty"`
	HostPath      *string               `json:"hostPath,omitempty"`
	Mode          string                `json:"mode,omitempty"` // RW (default) or RO
	Persistent    *PersistentVolumeInfo `json:"persistent,omitempty"`
	External      *ExternalVolumeInfo   `json:"external,omitempty"`
	Secret        *string               `json:"secret,omitempty"`

	raw fields
}

// PersistentVolumeInfo describes a local persistent volume (RAML
// PersistentVolumeInfo): sizes are MiB; Type is root (default), path or
// mount; Constraints may only be ["path", "LIKE"|"UNLIKE", regex].
type PersistentVolumeInfo struct {
	Type        string     `json:"type,omitempty"`
	Size        int64      `json:"size" required:"true"`
	MaxSize     *int64     `json:"maxSize,omitempty"`
	ProfileName *string    `json:"profileName,omitempty"`
	Constraints [][]string `json:"constraints,omitempty"`

	raw fields
}

// ExternalVolumeInfo describes an external volume (RAML
// DVDIExternalVolumeInfo): a volume of a storage service (EBS through
// REX-Ray, Portworx, ...) that a Docker volume driver attaches to whichever
// agent runs the task, so it follows the task from node to node. Name is
// the volume in the storage service; Provider is "dvdi"; Options are
// "dvdi/<option>" pairs, "dvdi/driver" naming the driver; Size is GiB;
// Shared leaves the volume out of Marathon's one-app-per-name check.
type ExternalVolumeInfo struct {
	Size     *int64            `json:"size,omitempty"`
	Name     *string           `json:"name,omitempty"`
	Provider *string           `json:"provider,omitempty"`
	Options  map[string]string `json:"options,omitempty"`
	Shared   *bool             `json:"shared,omitempty"`

	raw fields
}

// PortMapping maps a container port to a host port (bridge or container networking).
type PortMapping struct {
	ContainerPort *int     `json:"containerPort,omitempty"`
	HostPort      *int     `json:"hostPort,omitempty"`
	ServicePort   *int     `json:"servicePort,omitempty"`
	Protocol      string   `json:"protocol,omitempty"`
	Name          string   `json:"name,omitempty"`
	NetworkNames  []string `json:"networkNames,omitempty"`

	raw fields
}

// PortDefinition is a host port of an app on host networking.
type PortDefinition struct {
	Port     *int   `json:"port,omitempty"`
	Protocol string `json:"protocol,omitempty"`
	Name     string `json:"name,omitempty"`

	raw fields
}

// Network is one network of an app or pod: mode host, container/bridge or container (with a name).
type Network struct {
	Mode string `json:"mode,omitempty"`
	Name string `json:"name,omitempty"`

	raw fields
}

// IPAddress is the deprecated ipAddress member (IP-per-task).
type IPAddress struct {
	NetworkName string `json:"networkName,omitempty"`

	raw fields
}

// HealthCheck is an app health check (RAML AppHealthCheck).
type HealthCheck struct {
	Protocol               string        `json:"protocol,omitempty"`
	Path                   string        `json:"path,omitempty"`
	Port                   *int          `json:"port,omitempty"`
	PortIndex              *int          `json:"portIndex,omitempty"`
	Command                *CommandCheck `json:"command,omitempty"`
	GracePeriodSeconds     *int          `json:"gracePeriodSeconds,omitempty"`
	IntervalSeconds        *int          `json:"intervalSeconds,omitempty"`
	TimeoutSeconds         *int          `json:"timeoutSeconds,omitempty"`
	MaxConsecutiveFailures *int          `json:"maxConsecutiveFailures,omitempty"`
	DelaySeconds           *int          `json:"delaySeconds,omitempty"`

	raw fields
}

// CommandCheck is the command of a COMMAND health check.
type CommandCheck struct {
	Value string `json:"value"`

	raw fields
}

// Residency is the deprecated residency member (Marathon 1.0-1.5).
type Residency struct {
	RelaunchEscalationTimeoutSeconds *int64 `json:"relaunchEscalationTimeoutSeconds,omitempty"`
	TaskLostBehavior                 string `json:"taskLostBehavior,omitempty"`

	raw fields
}

// UpgradeStrategy bounds how many instances a deployment may stop and start.
// A member that is left out defaults to 1.0 (Marathon's RAML default).
type UpgradeStrategy struct {
	MinimumHealthCapacity *float64 `json:"minimumHealthCapacity,omitempty"`
	MaximumOverCapacity   *float64 `json:"maximumOverCapacity,omitempty"`

	raw fields
}

// UnreachableStrategy is either the string "disabled" or an object with the
// two timeouts. Resident apps and pods need "disabled".
type UnreachableStrategy struct {
	Disabled             bool   `json:"-"`
	InactiveAfterSeconds *int64 `json:"inactiveAfterSeconds,omitempty"`
	ExpungeAfterSeconds  *int64 `json:"expungeAfterSeconds,omitempty"`

	raw fields
}

// EnvValue is an environment value: a string, or a secret reference
// ({"secret": "name"}) kept as raw JSON.
type EnvValue struct {
	Value string
	raw   json.RawMessage
}

// Str is a shorthand for the address of s.
func Str(s string) *string { return &s }

// Float is a shorthand for the address of f.
func Float(f float64) *float64 { return &f }

// Int is a shorthand for the address of i.
func Int(i int) *int { return &i }

// Int64 is a shorthand for the address of i.
func Int64(i int64) *int64 { return &i }

// UnmarshalJSON keeps the string or the raw secret reference.
func (e *EnvValue) UnmarshalJSON(b []byte) error {
	*e = EnvValue{}
	if err := json.Unmarshal(b, &e.Value); err == nil {
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return &DecodeError{Msg: "error.expected.jsstring"}
	}
	e.raw = append(json.RawMessage(nil), b...)
	return nil
}

// MarshalJSON writes the value back as it was read.
func (e EnvValue) MarshalJSON() ([]byte, error) {
	if e.raw != nil {
		return e.raw, nil
	}
	return json.Marshal(e.Value)
}

// UnmarshalJSON reads "disabled" or the enabled form.
func (u *UnreachableStrategy) UnmarshalJSON(b []byte) error {
	*u = UnreachableStrategy{}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		if s != "disabled" {
			return &DecodeError{Msg: fmt.Sprintf("error.unknown.enum.literal: %q", s)}
		}
		u.Disabled = true
		return nil
	}
	var err error
	u.raw, err = decodeObject(b, u)
	return err
}

// MarshalJSON writes "disabled" or the enabled form.
func (u UnreachableStrategy) MarshalJSON() ([]byte, error) {
	if u.Disabled {
		return []byte(`"disabled"`), nil
	}
	return encodeObject(&u, u.raw)
}

// UnmarshalJSON decodes the modelled members and keeps the others. Which
// members are required depends on the kind of volume: Marathon reads a
// volume without persistent, external or secret as a host volume, so a
// misspelt "persistent" is reported as a missing hostPath.
func (v *AppVolume) UnmarshalJSON(b []byte) error {
	err := decodeInto(v, &v.raw, b)
	raw := v.raw
	errs := asDecodeErrorsOrNil(err)
	required := []string{"containerPath"}
	if v.Persistent == nil && v.External == nil && v.Secret == nil {
		required = append(required, "hostPath")
	}
	for _, name := range required {
		if m, ok := raw[name]; raw != nil && (!ok || isNull(m)) {
			errs = append(errs, &DecodeError{Path: "/" + name, Msg: undefinedMsg(name, b)})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// MarshalJSON writes the modelled members over the kept ones.
func (v AppVolume) MarshalJSON() ([]byte, error) { return encodeObject(&v, v.raw) }

func asDecodeErrorsOrNil(err error) decodeErrors {
	if err == nil {
		return nil
	}
	return asDecodeErrors(err)
}
