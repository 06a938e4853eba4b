package marathon

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// An app goes through Marathon's checks in Marathon's order, and each stage
// stops the request when it finds something (POST/PUT /v2/apps):
//
//  1. JSON reads: types and required members ("Invalid JSON");
//  2. the deprecated API (AppValidation.validateOldAppAPI);
//  3. normalization, then the canonical API (AppValidation.validateCanonicalAppAPI);
//  4. the state model (AppDefinition.validAppDefinition), including role
//     enforcement under RulesHead.

func validateApp(data []byte, opts Options) error {
	var a App
	if err := json.Unmarshal(data, &a); err != nil {
		return fromDecode("", err).err(msgInvalidJSON)
	}
	if v := oldAppAPIRules(&a); !v.empty() {
		return v.err(msgNotValid)
	}
	normalizeApp(&a, opts)
	if v := appAPIRules(&a, opts); !v.empty() {
		return v.err(msgNotValid)
	}
	return appStateRules(&a, opts).err(msgNotValid)
}

// oldAppAPIRules are the rules on the deprecated members, checked before
// normalization. Their errors are on the app ("/").
func oldAppAPIRules(a *App) *violations {
	v := &violations{}
	if c := a.Container; c != nil && c.Docker != nil && c.Docker.Network != "" && len(a.Networks) > 0 {
		v.add("/", "must not specify both container.docker.network and networks")
	}
	if a.IPAddress != nil && len(a.Networks) > 0 {
		v.add("/", "must not specify both networks and ipAddress")
	}
	var nonRandom []int
	for _, p := range a.Ports {
		if p != 0 {
			nonRandom = append(nonRandom, p)
		}
	}
	if len(dedupe(nonRandom)) != len(nonRandom) {
		v.add("/", "ports must be unique")
	}
	if a.IPAddress != nil && (len(a.Ports) > 0 || len(a.PortDefinitions) > 0) {
		v.add("/", "cannot specify both an IP address and port")
	}
	if a.Ports != nil && a.PortDefinitions != nil && !samePorts(a.Ports, a.PortDefinitions) {
		v.add("/", "cannot specify both ports and port definitions")
	}
	return v
}

// appAPIRules are the canonical API rules on a normalized app.
func appAPIRules(a *App, opts Options) *violations {
	v := &violations{}
	pathIDRules(v, a.ID)
	if strings.Trim(a.ID, "/") == "" {
		v.add("/", "must not be root")
	}
	if !hasCmdArgsOrContainer(a) {
		v.add("/", "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.")
	}
	if a.Cmd != nil && len(*a.Cmd) <= 1 {
		v.add("/", "must not be an empty string")
	}
	appNetworkRules(v, a)
	if a.Container != nil {
		containerRules(v, a.Container, a.Networks, "/container", opts)
	}
	portDefinitionRules(v, a.PortDefinitions)
	healthCheckRules(v, a)
	appResourceRules(v, a)
	if a.AcceptedResourceRoles != nil {
		acceptedRolesRules(v, a.AcceptedResourceRoles, "app", a.isResident())
	}
	appUpgradeRules(v, a)
	dvdiAppRules(v, a)
	if a.isResident() && a.UnreachableStrategy != nil && !a.UnreachableStrategy.Disabled {
		v.add("/", "unreachableStrategy must be disabled for resident tasks")
	}
	for i, c := range a.Constraints {
		appConstraintRules(v, c, fmt.Sprintf("/constraints(%d)", i))
	}
	if opts.rules() == RulesLegacy && a.Residency != nil && !a.isResident() {
		v.add("/", "App must contain persistent volumes and define residency")
	}
	return v
}

// appStateRules are the state-model rules the API rules do not already
// cover: role enforcement, and the profile name of a persistent volume.
func appStateRules(a *App, opts Options) *violations {
	v := &violations{}
	if opts.rules() == RulesHead {
		enforceRoles(v, service{noun: "apps", id: a.ID, role: a.Role, resident: a.isResident(),
			acceptedRoles: a.AcceptedResourceRoles}, opts)
	}
	if a.Container != nil {
		containerStateRules(v, a.Container, "/container")
	}
	return v
}

// pathSegment is PathId's rule for one element of an id.
var pathSegment = regexp.MustCompile(`^(?:(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])|(\.|\.\.))$`)

// pathIDRules checks an absolute id: not empty, every element well formed.
func pathIDRules(v *violations, id string) {
	parts := strings.FieldsFunc(id, func(r rune) bool { return r == '/' })
	if len(parts) == 0 {
		v.add("/id", "Path must contain at least one path element")
	}
	for _, p := range parts {
		if !pathSegment.MatchString(p) {
			v.add("/id", `must fully match regular expression '^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])|(\.|\.\.)$'`)
			return
		}
	}
}

// hasCmdArgsOrContainer: exactly one of cmd and args, or neither and a
// container with an image.
func hasCmdArgsOrContainer(a *App) bool {
	cmd, args := a.Cmd != nil, a.Args != nil
	image := false
	if c := a.Container; c != nil {
		docker, appc := c.Docker != nil, c.AppC != nil
		image = (docker && !appc) || (appc && !docker && c.Type == "MESOS")
	}
	return cmd != args || (!(cmd && args) && image)
}

// appNetworkRules: port mappings need container networking, port
// definitions host networking; container networks need a name; the Docker
// containerizer joins at most one container network.
func appNetworkRules(v *violations, a *App) {
	host := isHostNetworked(a.Networks)
	if host && a.Container != nil && len(a.Container.PortMappings) > 0 {
		v.add("/", "portMappings are not allowed with host-networking")
	}
	if !host && len(a.PortDefinitions) > 0 {
		v.add("/", "portDefinitions are only allowed with host-networking")
	}
	containerNets := 0
	for _, n := range a.Networks {
		if n.Mode == "container" {
			containerNets++
			if n.Name == "" {
				v.add("/", "Network name must be specified when container network is selected.")
			}
		}
	}
	if a.Container != nil && a.Container.Type == "DOCKER" && containerNets > 1 {
		v.add("/", "may only specify a single container network when using the Docker container engine")
	}
}

// portDefinitionRules: names and fixed ports are unique.
func portDefinitionRules(v *violations, defs []PortDefinition) {
	var names []string
	var ports []int
	for _, d := range defs {
		if d.Name != "" {
			names = append(names, d.Name)
		}
		if p := deref(d.Port); p != 0 {
			ports = append(ports, p)
		}
	}
	if len(dedupe(names)) != len(names) {
		v.add("/portDefinitions", "Port names must be unique.")
	}
	if len(dedupe(ports)) != len(ports) {
		v.add("/portDefinitions", "Ports must be unique.")
	}
}

// appResourceRules: no negative resources or instances; GPUs need the
// Mesos containerizer and the gpu_resources feature.
func appResourceRules(v *violations, a *App) {
	atLeastZero(v, "/cpus", *a.CPUs)
	atLeastZero(v, "/mem", *a.Mem)
	atLeastZero(v, "/disk", *a.Disk)
	if *a.GPUs < 0 {
		v.addf("/gpus", "got %d, expected 0 or more", *a.GPUs)
	}
	if *a.Instances < 0 {
		v.addf("/instances", "got %d, expected 0 or more", *a.Instances)
	}
	if *a.GPUs > 0 {
		if a.Container != nil && a.Container.Type == "DOCKER" {
			v.add("/", "GPU resources only work with the Mesos containerizer")
		}
		v.add("/", "Feature gpu_resources is not enabled. Enable with --enable_features gpu_resources)")
	}
}

// appUpgradeRules: capacities within [0, 1]; a resident app may not start
// an instance before it stopped one (maximumOverCapacity 0), since the new
// instance needs the old one's reservation and volume; a single-instance
// app (label MARATHON_SINGLE_INSTANCE_APP) needs 0/0 and one instance.
func appUpgradeRules(v *violations, a *App) {
	u := a.UpgradeStrategy
	min, max := *u.MinimumHealthCapacity, *u.MaximumOverCapacity
	capacityRules(v, "/upgradeStrategy", min, max)
	if a.isResident() {
		residentUpgradeRules(v, "/upgradeStrategy", min, max)
	}
	if a.Labels["MARATHON_SINGLE_INSTANCE_APP"] == "true" {
		if *a.Instances > 1 {
			v.add("/", "Single instance app may only have one instance")
		}
		if min != 0 {
			v.addf("/upgradeStrategy/minimumHealthCapacity", "got %s, expected 0.0", jdouble(min))
		}
		if max != 0 {
			v.addf("/upgradeStrategy/maximumOverCapacity", "got %s, expected 0.0", jdouble(max))
		}
	}
}

// capacityRules: both capacities of an upgrade strategy lie in [0, 1]
// (UpgradeStrategy's and PodUpgradeStrategy's validators).
func capacityRules(v *violations, prefix string, min, max float64) {
	for _, c := range []struct {
		name string
		val  float64
	}{{"/minimumHealthCapacity", min}, {"/maximumOverCapacity", max}} {
		atLeastZero(v, prefix+c.name, c.val)
		if c.val > 1 {
			v.addf(prefix+c.name, "got %s, expected 1.0 or less", jdouble(c.val))
		}
	}
}

// atLeastZero: a number that may not be negative (Marathon's
// "got -1.0, expected 0.0 or more").
func atLeastZero(v *violations, path string, val float64) {
	if val < 0 {
		v.addf(path, "got %s, expected 0.0 or more", jdouble(val))
	}
}

// optionalAtLeastZero is atLeastZero for a member that may be left out.
func optionalAtLeastZero(v *violations, path string, val *float64) {
	if val != nil {
		atLeastZero(v, path, *val)
	}
}

// residentUpgradeRules is UpgradeStrategy.validForResidentTasks.
func residentUpgradeRules(v *violations, prefix string, min, max float64) {
	if min < 0 || min > 1 {
		v.addf(prefix+"/minimumHealthCapacity", "got %s, expected between 0.0 and 1.0", jdouble(min))
	}
	if max != 0 {
		v.addf(prefix+"/maximumOverCapacity", "got %s, expected 0.0", jdouble(max))
	}
}

func samePorts(ports []int, defs []PortDefinition) bool {
	if len(ports) != len(defs) {
		return false
	}
	for i, p := range ports {
		if deref(defs[i].Port) != p {
			return false
		}
	}
	return true
}
