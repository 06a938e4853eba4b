package marathon

import (
	"encoding/json"
	"reflect"
)

// Updates of resident services (AppDefinition.residentUpdateIsValid,
// PodsValidation.residentUpdateIsValid). They apply when the old or the new
// definition has a persistent volume, because the instances keep their
// reservations across the update:
//   - the persistent volumes may not change (not added, removed, resized,
//     moved to another disk type or profile);
//   - cpus, mem, disk and gpus may not change (they are reserved);
//   - host ports may not change (they are reserved);
//   - the upgrade strategy of the new definition has maximumOverCapacity 0.
// To change any of these, create a new service (and wipe the old volumes).

const (
	msgAppVolumesChanged   = "Persistent volumes can not be changed!"
	msgAppResourcesChanged = "Services with persistent volumes configured may not change resource requirements. " +
		"If you need to make this change, please create a new service."
	msgAppHostPortsChanged = "Services with persistent volumes configured may not change host ports. " +
		"If you need to make this change, please create a new service."
	msgPodVolumesChanged   = "persistent volumes cannot be updated"
	msgPodHostPortsChanged = "host ports cannot be updated if a pod has persistent volumes"
)

func validateAppUpdate(from, to []byte, opts Options) error {
	var a, b App
	if v := decodePair(from, to, &a, &b); !v.empty() {
		return v.err(msgInvalidJSON)
	}
	normalizeApp(&a, opts)
	normalizeApp(&b, opts)
	v := &violations{}
	if a.isResident() || b.isResident() {
		appUpdateRules(v, &a, &b)
	}
	return v.err(msgNotValid)
}

func validatePodUpdate(from, to []byte, opts Options) error {
	var a, b Pod
	if v := decodePair(from, to, &a, &b); !v.empty() {
		return v.err(msgInvalidJSON)
	}
	normalizePod(&a, opts)
	normalizePod(&b, opts)
	v := &violations{}
	if a.isResident() || b.isResident() {
		podUpdateRules(v, &a, &b)
	}
	return v.err(msgNotValid)
}

// decodePair reads the two sides of an update; errors are under /from and /to.
func decodePair(from, to []byte, a, b any) *violations {
	v := &violations{}
	if err := json.Unmarshal(from, a); err != nil {
		v.merge(fromDecode("/from", err))
	}
	if err := json.Unmarshal(to, b); err != nil {
		v.merge(fromDecode("/to", err))
	}
	return v
}

func appUpdateRules(v *violations, from, to *App) {
	if !reflect.DeepEqual(appPersistentVolumes(from), appPersistentVolumes(to)) {
		v.add("/", msgAppVolumesChanged)
	}
	for _, r := range []struct {
		path     string
		old, new float64
	}{{"/cpus", *from.CPUs, *to.CPUs}, {"/mem", *from.Mem, *to.Mem}, {"/disk", *from.Disk, *to.Disk},
		{"/gpus", float64(*from.GPUs), float64(*to.GPUs)}} {
		if r.old != r.new {
			v.add(r.path, msgAppResourcesChanged)
		}
	}
	if !reflect.DeepEqual(appHostPorts(from), appHostPorts(to)) {
		v.add("/", msgAppHostPortsChanged)
	}
	u := to.UpgradeStrategy
	residentUpgradeRules(v, "/upgradeStrategy", *u.MinimumHealthCapacity, *u.MaximumOverCapacity)
}

func podUpdateRules(v *violations, from, to *Pod) {
	if !reflect.DeepEqual(podPersistentVolumes(from), podPersistentVolumes(to)) {
		v.add("/", msgPodVolumesChanged)
	}
	a, b := podResources(from), podResources(to)
	for i, name := range []string{"cpus", "mem", "disk", "gpus"} {
		if a[i] != b[i] {
			v.add("/", name+" cannot be updated if a pod has persistent volumes")
		}
	}
	if !reflect.DeepEqual(podHostPorts(from), podHostPorts(to)) {
		v.add("/", msgPodHostPortsChanged)
	}
	u := to.Scheduling.Upgrade
	if u == nil {
		u = normalizeUpgrade(nil, false)
	}
	residentUpgradeRules(v, "/upgradeStrategy", *u.MinimumHealthCapacity, *u.MaximumOverCapacity)
}

// volumeKey is what identifies a persistent volume's reservation.
type volumeKey struct {
	ReadOnly    bool
	Type        string
	Size        int64
	MaxSize     int64
	ProfileName string
	Constraints [][]string
}

func keyOf(info *PersistentVolumeInfo, readOnly bool) volumeKey {
	k := volumeKey{ReadOnly: readOnly, Type: info.Type, Size: info.Size, MaxSize: deref(info.MaxSize),
		ProfileName: deref(info.ProfileName)}
	if len(info.Constraints) > 0 {
		k.Constraints = info.Constraints
	}
	return k
}

// appPersistentVolumes are an app's persistent volumes by container path.
func appPersistentVolumes(a *App) map[string]volumeKey {
	out := map[string]volumeKey{}
	if a.Container != nil {
		for _, vol := range a.Container.Volumes {
			if vol.Persistent != nil {
				out[deref(vol.ContainerPath)] = keyOf(vol.Persistent, vol.Mode == "RO")
			}
		}
	}
	return out
}

// podPersistentVolumes are a pod's persistent volumes by name.
func podPersistentVolumes(p *Pod) map[string]volumeKey {
	out := map[string]volumeKey{}
	for _, vol := range p.Volumes {
		if vol.Persistent != nil {
			out[vol.Name] = keyOf(vol.Persistent, false)
		}
	}
	return out
}

// appHostPorts are the host ports an app reserves: its port definitions on
// host networking, else the host ports of its port mappings.
func appHostPorts(a *App) map[int]bool {
	out := map[int]bool{}
	if isHostNetworked(a.Networks) {
		for _, d := range a.PortDefinitions {
			out[deref(d.Port)] = true
		}
		return out
	}
	if a.Container != nil {
		for _, m := range a.Container.PortMappings {
			if m.HostPort != nil {
				out[*m.HostPort] = true
			}
		}
	}
	return out
}

func podHostPorts(p *Pod) map[int]bool {
	out := map[int]bool{}
	for _, c := range p.Containers {
		for _, e := range c.Endpoints {
			if e.HostPort != nil {
				out[*e.HostPort] = true
			}
		}
	}
	return out
}

// podResources are the summed cpus, mem, disk and gpus of a pod's containers.
func podResources(p *Pod) [4]float64 {
	var sum [4]float64
	for _, c := range p.Containers {
		r := c.Resources
		if r == nil {
			r = &Resources{}
		}
		sum[0] += floatOr(r.CPUs, defaultCPUs)
		sum[1] += floatOr(r.Mem, defaultMem)
		sum[2] += floatOr(r.Disk, 0)
		sum[3] += float64(deref(r.GPUs))
	}
	return sum
}

func floatOr(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}
