package marathon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Render writes a complete app or pod definition for a fenced database
// with a local persistent volume:
//
//   - the volume, with its disk type, size, maxSize, profile and
//     ["path", "LIKE", regex] constraint; for MySQL images that insist on
//     /var/lib/mysql, the hostPath workaround (a host volume at
//     /var/lib/mysql whose hostPath is the persistent volume);
//   - unreachableStrategy "disabled" and upgradeStrategy 0/0: Marathon
//     never starts a second instance while the first may still run, and
//     never replaces an unreachable one (zkfence's lock is the second line
//     of defence, not the first);
//   - the role, and acceptedResourceRoles ["*"] (a resident service
//     reserves unreserved resources for its role);
//   - a health check on zkfence's /healthz, which answers 200 only while
//     zkfence holds the lock and the database runs;
//   - the command: exec zkfence run ... -- postgres|mysqld, so that zkfence
//     is the process Mesos signals.
//
// With an external volume (Volume.Type "external") it writes the app of
// render_external.go instead. The definition it returns passes Validate
// with RulesHead for Marathon with s.MesosRole (and, for an external
// volume, --enable_features external_volumes); otherwise Render returns
// the validation error.
func Render(s Spec) ([]byte, error) {
	s, eng, err := s.withDefaults()
	if err != nil {
		return nil, err
	}
	var def any
	kind := KindApp
	if s.Kind == "pod" {
		def, kind = renderPod(s, eng), KindPod
	} else {
		def = renderApp(s, eng)
	}
	// Not json.MarshalIndent: it writes & < > as \u0026..., which makes
	// a shell command unreadable.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(def); err != nil {
		return nil, err
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	opts := Options{Rules: RulesHead, MesosRole: s.MesosRole}
	if s.Volume.Type == volumeExternal {
		opts.Features = []string{featureExternalVolumes}
	}
	if err := Validate(kind, out, opts); err != nil {
		return nil, fmt.Errorf("the rendered %s is not valid: %w", kind, err)
	}
	return append(out, '\n'), nil
}

// dataPaths are the guarded mount and the data directory in the task.
func (s Spec) dataPaths(eng engine) (mount, dataDir string) {
	mount = "$MESOS_SANDBOX/" + s.Volume.Name
	if s.Volume.Type == volumeExternal {
		mount = "$MESOS_SANDBOX/" + s.externalContainerPath(eng)
	}
	if s.MySQLHostPath {
		mount = "/var/lib/mysql"
	}
	return mount, mount + "/data"
}

// command is the shell command of the task; port is the variable that
// holds the port of zkfence's health endpoint.
func (s Spec) command(eng engine, port string) string {
	mount, dataDir := s.dataPaths(eng)
	fence, before := s.Fence.fenceArgs()
	args := []string{"exec", shQuote(s.Zkfence), "run",
		"--zk", shQuote(s.ZK),
		"--lock", shQuote(s.Lock),
		"--mount", shExpand(mount)}
	if s.Fstype != "" {
		args = append(args, "--fstype", shQuote(s.Fstype))
	}
	if s.ClaimVolume {
		// A new volume has no fence record and zkfence refuses it (exit
		// 93) unless told to claim it: the first deployment only, so that
		// a wrong, empty volume is never taken for this service's.
		args = append(args, "--claim-volume")
	}
	args = append(args,
		"--data-dir", shExpand(dataDir),
		"--engine", s.Engine,
		"--http", shExpand("0.0.0.0:$"+port),
		"--user", shQuote(s.User),
		"--stop-signal", shQuote(s.StopSignal),
		"--stop-grace", shQuote(s.StopGrace))
	args = append(args, fence...)
	args = append(args, "--", eng.command(shExpand(dataDir)))
	return before + strings.Join(args, " ")
}

func renderApp(s Spec, eng engine) *App {
	var vols []AppVolume
	switch {
	case s.Volume.Type == volumeExternal:
		vols = []AppVolume{s.externalVolume(s.externalContainerPath(eng))}
	default:
		vols = []AppVolume{{ContainerPath: Str(s.Volume.Name), Mode: "RW", Persistent: s.persistentInfo()}}
		if s.MySQLHostPath {
			vols = append(vols, AppVolume{ContainerPath: Str("/var/lib/mysql"), HostPath: Str(s.Volume.Name), Mode: "RW"})
		}
	}
	c := &Container{Type: s.Containerizer, Volumes: vols}
	if s.Image != "" {
		c.Docker = &Docker{Image: s.Image}
	}
	a := &App{
		ID: s.ID, Cmd: Str(s.command(eng, "PORT0")), Instances: Int(1),
		CPUs: Float(s.CPUs), Mem: Float(s.Mem), Disk: Float(s.Disk),
		Role: s.Role, AcceptedResourceRoles: []string{"*"}, Constraints: s.Constraints,
		Container: c, Env: envValues(s.Env),
		HealthChecks: []HealthCheck{{Protocol: "MESOS_HTTP", PortIndex: Int(0), Path: "/healthz",
			GracePeriodSeconds: Int(300), IntervalSeconds: Int(10), TimeoutSeconds: Int(5),
			MaxConsecutiveFailures: Int(3), DelaySeconds: Int(15)}},
		UpgradeStrategy:     &UpgradeStrategy{MinimumHealthCapacity: Float(0), MaximumOverCapacity: Float(0)},
		UnreachableStrategy: &UnreachableStrategy{Disabled: true},
		TaskKillGracePeriod: Float(s.killGraceSeconds()),
	}
	if s.Volume.Type == volumeExternal {
		// The volume follows the task: Marathon relaunches it elsewhere
		// 5 minutes after losing its agent, and kills the old task if
		// that comes back after 10 (render_external.go).
		a.UnreachableStrategy = &UnreachableStrategy{InactiveAfterSeconds: Int64(300), ExpungeAfterSeconds: Int64(600)}
	}
	if s.Containerizer == "DOCKER" {
		// Bridge networking: containerPort 0 takes the host port, so
		// $PORT0 is the same inside and outside the container.
		a.Networks = []Network{{Mode: "container/bridge"}}
		c.PortMappings = []PortMapping{
			{ContainerPort: Int(0), HostPort: Int(0), Protocol: "tcp", Name: "zkfence"},
			{ContainerPort: Int(eng.port), HostPort: Int(0), Protocol: "tcp", Name: s.Engine},
		}
	} else {
		a.Networks = []Network{{Mode: "host"}}
		a.PortDefinitions = []PortDefinition{{Port: Int(0), Protocol: "tcp", Name: "zkfence"}}
	}
	return a
}

func renderPod(s Spec, eng engine) *Pod {
	ctr := PodContainer{
		Name:        s.Engine,
		Exec:        &PodExec{Command: PodCommand{Shell: Str(s.command(eng, "EP_HOST_ZKFENCE"))}},
		Resources:   &Resources{CPUs: Float(s.CPUs), Mem: Float(s.Mem), Disk: Float(s.Disk)},
		Endpoints:   []Endpoint{{Name: "zkfence", HostPort: Int(0), Protocol: []string{"tcp"}}},
		Environment: envValues(s.Env),
		HealthCheck: &PodHealthCheck{HTTP: &EndpointCheck{Endpoint: "zkfence", Path: "/healthz", Scheme: "HTTP"},
			GracePeriodSeconds: Int(300), IntervalSeconds: Int(10), TimeoutSeconds: Int(5),
			MaxConsecutiveFailures: Int(3), DelaySeconds: Int(15)},
		VolumeMounts: []VolumeMount{{Name: s.Volume.Name, MountPath: s.Volume.Name, ReadOnly: new(bool)}},
		Lifecycle:    &Lifecycle{KillGracePeriodSeconds: Float(s.killGraceSeconds())},
	}
	if s.Image != "" {
		ctr.Image = &Image{Kind: "DOCKER", ID: s.Image}
	}
	placement := &PodPlacement{AcceptedResourceRoles: []string{"*"}}
	for _, c := range s.Constraints {
		var pc PodConstraint
		if len(c) > 0 {
			pc.FieldName = c[0]
		}
		if len(c) > 1 {
			pc.Operator = c[1]
		}
		if len(c) > 2 {
			pc.Value = Str(c[2])
		}
		placement.Constraints = append(placement.Constraints, pc)
	}
	return &Pod{
		ID: s.ID, Role: s.Role,
		Containers: []PodContainer{ctr},
		Volumes:    []PodVolume{{Name: s.Volume.Name, Persistent: s.persistentInfo()}},
		Networks:   []Network{{Mode: "host"}},
		Scaling:    &PodScaling{Kind: "fixed", Instances: Int(1)},
		Scheduling: &PodScheduling{
			Upgrade:             &UpgradeStrategy{MinimumHealthCapacity: Float(0), MaximumOverCapacity: Float(0)},
			UnreachableStrategy: &UnreachableStrategy{Disabled: true},
			Placement:           placement,
		},
	}
}

func envValues(env map[string]string) map[string]EnvValue {
	if len(env) == 0 {
		return nil
	}
	out := make(map[string]EnvValue, len(env))
	for k, v := range env {
		out[k] = EnvValue{Value: v}
	}
	return out
}
