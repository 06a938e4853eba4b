package marathon

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The rules of external volumes, from Marathon's source
// (src/main/scala/mesosphere/marathon/...):
//
//   - api/v2/validation/AppValidation.scala validVolume: the feature
//     external_volumes must be enabled (--enable_features); containerPath
//     not empty; external.name not empty; external.provider given and a
//     label; every option key "<label>/<name>"; external volume names
//     unique within the container ("Volume names must be unique").
//   - core/externalvolume/ExternalVolumes.scala: a provider other than
//     dvdi or csi "is unknown provider".
//   - core/externalvolume/impl/providers/DVDIProvider.scala, ramlVolume and
//     ramlApp (the API) and volume and app (the state model):
//     options("dvdi/driver") given and a label; with driver rexray,
//     dvdi/volumetype and dvdi/newfstype are labels, dvdi/iops a positive
//     integer, dvdi/overwritefs a boolean; the Mesos containerizer mounts
//     RW only and not at "." or ".."; the Docker containerizer takes no
//     option but the driver and no size; an app with a DVDI volume has at
//     most one instance (a volume attaches to one task at a time), no DVDI
//     volume name twice, and an upgrade strategy for resident tasks
//     (minimumHealthCapacity in [0, 1], maximumOverCapacity 0: the old
//     task must let go of the volume before the new one starts).
//   - state/Volume.scala DVDIExternalVolumeInfo: a size, when given, is > 0.
//
// Not modelled: the root group's rule that two apps may not use the same
// DVDI volume name unless both mark it shared (Validate sees one app; a
// Marathon with both apps refuses the second), and the rules of CSI
// volumes (provider "csi"), of which only the generic ones are checked.

const (
	featureExternalVolumes = "external_volumes"
	providerDVDI           = "dvdi"
	providerCSI            = "csi"
	dvdiDriverOption       = "dvdi/driver"
	driverRexRay           = "rexray"
)

var (
	// labelRegex is OptionLabelPatterns.LabelRegex.
	labelRegex = regexp.MustCompile(`^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$`)
	// optionKeyRegex is OptionLabelPatterns.OptionKeyRegex.
	optionKeyRegex = regexp.MustCompile(`^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?/[A-Za-z0-9](?:[-A-Za-z0-9\._:]*[A-Za-z0-9])?$`)
)

func regexMsg(re *regexp.Regexp) string { return "must match regular expression '" + re.String() + "'" }

// isDVDI: an external volume of the DVDI provider.
func (v *AppVolume) isDVDI() bool {
	return v.External != nil && deref(v.External.Provider) == providerDVDI
}

// hasDVDIVolumes: an app with a DVDI external volume, which Marathon
// treats as resident for its upgrade strategy.
func (a *App) hasDVDIVolumes() bool {
	if a.Container == nil {
		return false
	}
	for i := range a.Container.Volumes {
		if a.Container.Volumes[i].isDVDI() {
			return true
		}
	}
	return false
}

// hasExternalVolumes: an app with any external volume.
func (a *App) hasExternalVolumes() bool {
	if a.Container == nil {
		return false
	}
	for i := range a.Container.Volumes {
		if a.Container.Volumes[i].External != nil {
			return true
		}
	}
	return false
}

// externalVolumeRules are the API rules of one external volume at prefix,
// in a container of type ctype (MESOS or DOCKER).
func externalVolumeRules(v *violations, vol *AppVolume, ctype, prefix string, opts Options) {
	ext := vol.External
	if deref(vol.ContainerPath) == "" {
		v.add(prefix+"/containerPath", "must not be empty")
	}
	provider := deref(ext.Provider)
	if provider != providerCSI {
		if deref(ext.Name) == "" {
			v.add(prefix+"/external/name", "must not be empty")
		}
		switch {
		case ext.Provider == nil:
			v.add(prefix+"/external/provider", "not defined")
		case !labelRegex.MatchString(provider):
			v.add(prefix+"/external/provider", regexMsg(labelRegex))
		}
		for _, k := range sortedKeys(ext.Options) {
			if !optionKeyRegex.MatchString(k) {
				v.add(prefix+"/external/options", regexMsg(optionKeyRegex))
			}
		}
	}
	if ext.Provider != nil && provider != providerDVDI && provider != providerCSI {
		v.add(prefix+"/external/provider", "is unknown provider")
	}
	if provider == providerDVDI {
		dvdiVolumeRules(v, vol, ctype, prefix)
	}
	if !opts.feature(featureExternalVolumes) {
		v.add(prefix, featureMsg(featureExternalVolumes))
	}
}

// dvdiVolumeRules are DVDIProvider's rules of one volume (ramlVolume).
func dvdiVolumeRules(v *violations, vol *AppVolume, ctype, prefix string) {
	ext := vol.External
	if ext.Name == nil {
		v.add(prefix+"/external/name", "not defined") // besides the API's "must not be empty"
	}
	driver, ok := ext.Options[dvdiDriverOption]
	switch {
	case !ok:
		v.add(prefix+`/external/options("dvdi/driver")`, "not defined")
	case !labelRegex.MatchString(driver):
		v.add(prefix+`/external/options("dvdi/driver")`, regexMsg(labelRegex))
	}
	if driver == driverRexRay {
		rexRayOptionRules(v, ext.Options, prefix+"/external/options")
	}
	if cp := deref(vol.ContainerPath); cp == "." || cp == ".." {
		v.add(prefix+"/containerPath", "can not be one of (.,..)")
	}
	switch ctype {
	case "MESOS":
		if vol.Mode != "RW" {
			v.add(prefix+"/mode", "does not equal RW")
		}
	case "DOCKER":
		for k := range ext.Options {
			if k != dvdiDriverOption {
				v.add(prefix+"/external/options", "must only contain "+dvdiDriverOption)
				break
			}
		}
		if ext.Size != nil {
			v.add(prefix+"/external/size", "must be undefined for Docker containers")
		}
	}
}

// rexRayOptionRules: the REX-Ray options Marathon checks (validRexRayOptions).
func rexRayOptionRules(v *violations, o map[string]string, prefix string) {
	for _, k := range []string{"dvdi/volumetype", "dvdi/newfstype"} {
		if val, ok := o[k]; ok && !labelRegex.MatchString(val) {
			v.add(prefix+`/"`+k+`"`, regexMsg(labelRegex))
		}
	}
	if val, ok := o["dvdi/iops"]; ok {
		if n, err := strconv.ParseInt(val, 10, 64); err != nil || n <= 0 {
			v.add(prefix+`/"dvdi/iops"`, "Expected a valid, positive integer instead of "+val)
		}
	}
	if val, ok := o["dvdi/overwritefs"]; ok && !javaBoolean(val) {
		v.add(prefix+`/"dvdi/overwritefs"`, "Expected a valid boolean")
	}
}

// javaBoolean is Scala's String.toBoolean: "true" or "false", any case.
func javaBoolean(s string) bool {
	return strings.EqualFold(s, "true") || strings.EqualFold(s, "false")
}

// externalContainerRules: external volume names are unique in a
// container (AppValidation.validContainer volumesValidator).
func externalContainerRules(v *violations, c *Container, prefix string) {
	seen := map[string]bool{}
	for i := range c.Volumes {
		ext := c.Volumes[i].External
		if ext == nil || ext.Name == nil {
			continue
		}
		if seen[*ext.Name] {
			v.add(prefix+"/volumes", "Volume names must be unique")
			return
		}
		seen[*ext.Name] = true
	}
}

// dvdiAppRules are DVDIProvider's rules of an app with a DVDI volume
// (ramlApp): unique names, one instance, the resident upgrade strategy.
func dvdiAppRules(v *violations, a *App) {
	if !a.hasDVDIVolumes() {
		return
	}
	count := map[string]int{}
	for _, vol := range a.Container.Volumes {
		if vol.isDVDI() && !deref(vol.External.Shared) && vol.External.Name != nil {
			count[*vol.External.Name]++
		}
	}
	var dups []string
	for name, n := range count {
		if n > 1 {
			dups = append(dups, name)
		}
	}
	sort.Strings(dups)
	for _, name := range dups {
		v.addf("/", "Requested DVDI volume '%s' is declared more than once within app %s", name, a.ID)
	}
	if *a.Instances > 1 {
		// Marathon's message interpolates the whole app object where it
		// meant its id ("[$app.id]"); the start is the same.
		v.addf("/", "Number of instances is limited to 1 when declaring DVDI volumes in app [%s]", a.ID)
	}
	u := a.UpgradeStrategy
	residentUpgradeRules(v, "/upgradeStrategy", *u.MinimumHealthCapacity, *u.MaximumOverCapacity)
}

// externalStateRules: the state model refuses a size that is not
// positive (DVDIExternalVolumeInfo: size.each should be > 0).
func externalStateRules(v *violations, vol *AppVolume, prefix string) {
	if vol.External != nil && vol.External.Size != nil && *vol.External.Size <= 0 {
		v.addf(prefix+"/external/size", "got %d, expected more than 0", *vol.External.Size)
	}
}

// featureMsg is Marathon's refusal of a feature that is not enabled
// (Validation.featureEnabled, with its stray parenthesis).
func featureMsg(f string) string {
	return fmt.Sprintf("Feature %s is not enabled. Enable with --enable_features %s)", f, f)
}
