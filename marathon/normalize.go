package marathon

import "strings"

// Before validating, Marathon normalizes a definition (AppNormalization,
// PodNormalization): it turns the deprecated members into their current
// form and fills in defaults. The rules then see the normalized
// definition, so the defaults below decide what is valid:
//
//   - an app or pod is resident when it has a persistent volume;
//   - a resident service (or an app with an external volume) without
//     upgradeStrategy gets 0.5/0, others 1/1;
//     a member left out of an upgradeStrategy is 1.0;
//   - a resident service without unreachableStrategy gets "disabled";
//   - a service without role gets the default role (RoleSettings).

// Default resources (AppDefinition and RAML Resources defaults).
const (
	defaultCPUs = 1.0
	defaultMem  = 128.0
)

// normalizeApp brings a into Marathon's canonical form, in place.
func normalizeApp(a *App, opts Options) {
	a.ID = absolutePath(a.ID)
	a.Networks = appNetworks(a)
	if c := a.Container; c != nil {
		normalizeContainer(c)
	}
	if isHostNetworked(a.Networks) && a.PortDefinitions == nil {
		a.PortDefinitions = defaultPortDefinitions(a.Ports)
	}
	a.Ports = nil
	setDefault(&a.CPUs, defaultCPUs)
	setDefault(&a.Mem, defaultMem)
	setDefault(&a.Disk, 0)
	if a.GPUs == nil {
		a.GPUs = Int(0)
	}
	if a.Instances == nil {
		a.Instances = Int(1)
	}
	resident := a.isResident()
	// An app with an external volume gets the upgrade strategy of resident
	// tasks too (AppConversion.UpgradeStrategyConverter).
	a.UpgradeStrategy = normalizeUpgrade(a.UpgradeStrategy, resident || a.hasExternalVolumes())
	if a.UnreachableStrategy == nil && resident {
		a.UnreachableStrategy = &UnreachableStrategy{Disabled: true}
	}
	if a.Role == "" {
		a.Role = defaultRole(a.ID, opts)
	}
}

// normalizeContainer moves the deprecated docker.portMappings and fills in
// the volume defaults (mode RW, persistent type root).
func normalizeContainer(c *Container) {
	if c.Type == "" {
		c.Type = "MESOS"
	}
	if d := c.Docker; d != nil {
		if c.PortMappings == nil && d.PortMappings != nil {
			c.PortMappings = d.PortMappings
		}
		d.PortMappings = nil
	}
	for i := range c.Volumes {
		normalizeVolume(&c.Volumes[i])
	}
}

func normalizeVolume(v *AppVolume) {
	if v.Mode == "" {
		v.Mode = "RW"
	}
	if v.Persistent != nil && v.Persistent.Type == "" {
		v.Persistent.Type = "root"
	}
}

// appNetworks derives the networks of an app from the deprecated
// docker.network and ipAddress when networks is not given.
func appNetworks(a *App) []Network {
	if len(a.Networks) > 0 {
		out := make([]Network, len(a.Networks))
		for i, n := range a.Networks {
			out[i] = n
			if out[i].Mode == "" {
				out[i].Mode = "container"
			}
		}
		return out
	}
	name := ""
	if a.IPAddress != nil {
		name = a.IPAddress.NetworkName
	}
	if c := a.Container; c != nil && c.Docker != nil {
		switch c.Docker.Network {
		case "BRIDGE":
			return []Network{{Mode: "container/bridge"}}
		case "USER":
			return []Network{{Mode: "container", Name: name}}
		case "HOST":
			return []Network{{Mode: "host"}}
		}
	}
	if a.IPAddress != nil {
		return []Network{{Mode: "container", Name: name}}
	}
	return []Network{{Mode: "host"}}
}

// defaultPortDefinitions turns the deprecated ports into port definitions,
// or gives the one port an app on host networking gets by default.
func defaultPortDefinitions(ports []int) []PortDefinition {
	if ports == nil {
		return []PortDefinition{{Port: Int(0), Name: "default"}}
	}
	out := make([]PortDefinition, len(ports))
	for i, p := range ports {
		out[i] = PortDefinition{Port: Int(p)}
	}
	return out
}

// normalizeUpgrade gives the default strategy, or fills in left-out members.
func normalizeUpgrade(u *UpgradeStrategy, resident bool) *UpgradeStrategy {
	if u == nil {
		if resident {
			return &UpgradeStrategy{MinimumHealthCapacity: Float(0.5), MaximumOverCapacity: Float(0)}
		}
		return &UpgradeStrategy{MinimumHealthCapacity: Float(1), MaximumOverCapacity: Float(1)}
	}
	setDefault(&u.MinimumHealthCapacity, 1)
	setDefault(&u.MaximumOverCapacity, 1)
	return u
}

// normalizePod brings p into Marathon's canonical form, in place.
func normalizePod(p *Pod, opts Options) {
	p.ID = absolutePath(p.ID)
	if len(p.Networks) == 0 {
		p.Networks = []Network{{Mode: "host"}}
	}
	for i := range p.Networks {
		if p.Networks[i].Mode == "" {
			p.Networks[i].Mode = "container"
		}
	}
	for i := range p.Volumes {
		if pv := p.Volumes[i].Persistent; pv != nil && pv.Type == "" {
			pv.Type = "root"
		}
	}
	resident := p.isResident()
	if p.Scheduling == nil {
		p.Scheduling = &PodScheduling{}
	}
	if p.Scheduling.Upgrade != nil || resident {
		p.Scheduling.Upgrade = normalizeUpgrade(p.Scheduling.Upgrade, resident)
	}
	if p.Scheduling.UnreachableStrategy == nil && resident {
		p.Scheduling.UnreachableStrategy = &UnreachableStrategy{Disabled: true}
	}
	if p.Role == "" {
		p.Role = defaultRole(p.ID, opts)
	}
}

// isResident: an app with a local persistent volume.
func (a *App) isResident() bool {
	if a.Container == nil {
		return false
	}
	for _, v := range a.Container.Volumes {
		if v.Persistent != nil {
			return true
		}
	}
	return false
}

// isResident: a pod with a local persistent volume.
func (p *Pod) isResident() bool {
	for _, v := range p.Volumes {
		if v.Persistent != nil {
			return true
		}
	}
	return false
}

// absolutePath makes an id absolute, relative to the root group.
func absolutePath(id string) string {
	if strings.HasPrefix(id, "/") {
		return id
	}
	return "/" + id
}

func isHostNetworked(ns []Network) bool {
	for _, n := range ns {
		if n.Mode == "host" {
			return true
		}
	}
	return false
}

func setDefault(p **float64, v float64) {
	if *p == nil {
		*p = Float(v)
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
