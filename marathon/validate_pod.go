package marathon

import (
	"encoding/json"
	"fmt"
	"regexp"
)

// A pod goes through Marathon's checks in Marathon's order (POST/PUT
// /v2/pods): JSON reads, normalization, the API rules
// (PodsValidation.podValidator), then role enforcement under RulesHead
// (podDefValidator). A resident pod (one with a persistent volume):
//   - has unreachableStrategy "disabled" (or none, which normalizes to it);
//   - has an upgrade strategy with maximumOverCapacity 0;
//   - accepts only unreserved resources: acceptedResourceRoles ["*"] or none.
// Marathon does not check a pod's persistent volume info beyond reading it.

func validatePod(data []byte, opts Options) error {
	var p Pod
	if err := json.Unmarshal(data, &p); err != nil {
		return fromDecode("", err).err(msgInvalidJSON)
	}
	normalizePod(&p, opts)
	if v := podAPIRules(&p); !v.empty() {
		return v.err(msgNotValid)
	}
	v := &violations{}
	if opts.rules() == RulesHead {
		enforceRoles(v, service{noun: "pods", id: p.ID, role: p.Role, resident: p.isResident(),
			acceptedRoles: p.acceptedRoles()}, opts)
	}
	return v.err(msgNotValid)
}

// namePattern is Marathon's pattern for endpoint and volume names.
var namePattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// podAPIRules are the API rules of a normalized pod.
func podAPIRules(p *Pod) *violations {
	v := &violations{}
	pathIDRules(v, p.ID)
	podVolumeRules(v, p)
	if len(p.Containers) == 0 {
		v.add("/containers", "must not be empty")
	}
	var names []string
	for i := range p.Containers {
		podContainerRules(v, p, &p.Containers[i], fmt.Sprintf("/containers(%d)", i))
		names = append(names, p.Containers[i].Name)
	}
	if len(dedupe(names)) != len(names) {
		v.add("/containers", "container names must be unique")
	}
	for i, n := range p.Networks {
		if n.Mode == "container" && n.Name == "" {
			v.add(fmt.Sprintf("/networks(%d)", i), "Network name must be specified when container network is selected.")
		}
	}
	podSchedulingRules(v, p.Scheduling)
	if s := p.Scaling; s != nil && deref(s.Instances) < 0 {
		v.addf("/scaling/instances", "got %d, expected 0 or more", deref(s.Instances))
	}
	podUniquenessRules(v, p)
	podResidentRules(v, p)
	if roles := p.acceptedRoles(); len(roles) > 0 {
		acceptedRolesRules(v, roles, "pod", p.isResident())
	}
	return v
}

// podVolumeRules: every volume is mounted by some container; names are unique.
func podVolumeRules(v *violations, p *Pod) {
	var names []string
	for i, vol := range p.Volumes {
		names = append(names, vol.Name)
		if !p.mounts(vol.Name) {
			v.add(fmt.Sprintf("/volumes(%d)", i), "volume must be referenced by at least one container")
		}
	}
	if len(dedupe(names)) != len(names) {
		v.add("/volumes", "volume names must be unique")
	}
}

// podContainerRules are the rules of one container at prefix.
func podContainerRules(v *violations, p *Pod, c *PodContainer, prefix string) {
	if r := c.Resources; r != nil {
		optionalAtLeastZero(v, prefix+"/resources/cpus", r.CPUs)
		optionalAtLeastZero(v, prefix+"/resources/mem", r.Mem)
		optionalAtLeastZero(v, prefix+"/resources/disk", r.Disk)
	}
	host, container := networkModes(p.Networks)
	for j, e := range c.Endpoints {
		ep := fmt.Sprintf("%s/endpoints(%d)", prefix, j)
		if host && e.ContainerPort != nil {
			v.add(ep+"/containerPort", "is not allowed when using host-mode networking")
		}
		if container && e.ContainerPort == nil {
			v.add(ep+"/containerPort", "is required when using container-mode networking")
		}
		if len(dedupe(e.Protocol)) != len(e.Protocol) {
			v.add(ep+"/protocol", "Duplicate protocols within the same endpoint are not allowed")
		}
	}
	if c.HealthCheck != nil {
		podHealthCheckRules(v, c.HealthCheck, c.Endpoints, prefix+"/healthCheck")
	}
	for j, m := range c.VolumeMounts {
		mp := fmt.Sprintf("%s/volumeMounts(%d)", prefix, j)
		if !namePattern.MatchString(m.Name) || len(m.Name) > 63 {
			v.addf(mp+"/name", "must fully match regular expression '%s'", namePattern)
		}
		if len(m.MountPath) < 1 || len(m.MountPath) > 1024 {
			v.addf(mp+"/mountPath/length", "got %d, expected between 1 and 1024", len(m.MountPath))
		}
		if !p.hasVolume(m.Name) {
			v.add(mp+"/name", "Referenced Volume in VolumeMount should exist")
		}
	}
}

// podSchedulingRules: backoff not negative, capacities in [0, 1], well-formed constraints.
func podSchedulingRules(v *violations, s *PodScheduling) {
	if b := s.Backoff; b != nil {
		optionalAtLeastZero(v, "/scheduling/backoff/backoff", b.Backoff)
		optionalAtLeastZero(v, "/scheduling/backoff/backoffFactor", b.BackoffFactor)
		optionalAtLeastZero(v, "/scheduling/backoff/maxLaunchDelay", b.MaxLaunchDelay)
	}
	if u := s.Upgrade; u != nil {
		capacityRules(v, "/scheduling/upgrade", *u.MinimumHealthCapacity, *u.MaximumOverCapacity)
	}
	if pl := s.Placement; pl != nil {
		for i, c := range pl.Constraints {
			podConstraintRules(v, c, fmt.Sprintf("/scheduling/placement/constraints(%d)", i))
		}
	}
}

// podUniquenessRules: endpoint names, container ports and fixed host ports
// are unique across all containers. (Marathon's message says "nust".)
func podUniquenessRules(v *violations, p *Pod) {
	var names []string
	var cports, hports []int
	for _, c := range p.Containers {
		for _, e := range c.Endpoints {
			names = append(names, e.Name)
			if cp := deref(e.ContainerPort); cp != 0 {
				cports = append(cports, cp)
			}
			if hp := deref(e.HostPort); hp != 0 {
				hports = append(hports, hp)
			}
		}
	}
	if len(dedupe(names)) != len(names) {
		v.add("/", "endpoint names nust be unique across all containers")
	}
	if len(dedupe(cports)) != len(cports) {
		v.add("/", "container ports must be unique across all containers")
	}
	if len(dedupe(hports)) != len(hports) {
		v.add("/", "host ports must be unique across all containers")
	}
}

// podResidentRules are the rules for pods with persistent volumes.
func podResidentRules(v *violations, p *Pod) {
	if !p.isResident() {
		return
	}
	if u := p.Scheduling.Upgrade; u != nil {
		residentUpgradeRules(v, "/upgrade", *u.MinimumHealthCapacity, *u.MaximumOverCapacity)
	}
	if u := p.Scheduling.UnreachableStrategy; u != nil && !u.Disabled {
		v.add("/", "unreachableStrategy must be disabled for pods with persistent volumes")
	}
}

func (p *Pod) acceptedRoles() []string {
	if p.Scheduling == nil || p.Scheduling.Placement == nil {
		return nil
	}
	return p.Scheduling.Placement.AcceptedResourceRoles
}

func (p *Pod) mounts(volume string) bool {
	for _, c := range p.Containers {
		for _, m := range c.VolumeMounts {
			if m.Name == volume {
				return true
			}
		}
	}
	return false
}

func (p *Pod) hasVolume(name string) bool {
	for _, vol := range p.Volumes {
		if vol.Name == name {
			return true
		}
	}
	return false
}

func networkModes(ns []Network) (host, container bool) {
	for _, n := range ns {
		host = host || n.Mode == "host"
		container = container || n.Mode == "container"
	}
	return host, container
}
