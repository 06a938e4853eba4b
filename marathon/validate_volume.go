package marathon

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The rules of an app's container and its volumes (AppValidation.validContainer,
// validVolume; state: Container, VolumeWithMount, PersistentVolumeInfo).
//
// A local persistent volume:
//   - containerPath is one relative path element: not empty, not "." or
//     "..", no "/" (Mesos mounts it in the sandbox; to reach an absolute
//     path, add a host volume whose hostPath is this containerPath);
//   - mode is RW;
//   - size > 0 MiB; maxSize only on a mount disk, and larger than size;
//   - constraints only on path and mount disks, and only
//     ["path", "LIKE"|"UNLIKE", regex];
//   - profileName, when given, is not empty.

// validateVolumeDoc checks one entry of container.volumes, in place, as
// in a container of the Mesos containerizer.
func validateVolumeDoc(data []byte, opts Options) error {
	const prefix = "/container/volumes(0)"
	var vol AppVolume
	if err := json.Unmarshal(data, &vol); err != nil {
		return fromDecode(prefix, err).err(msgInvalidJSON)
	}
	normalizeVolume(&vol)
	v := &violations{}
	volumeRules(v, &vol, "MESOS", prefix, opts)
	if v.empty() {
		volumeStateRules(v, &vol, prefix)
	}
	return v.err(msgNotValid)
}

// validateContainerDoc checks an app's container object, in place.
func validateContainerDoc(data []byte, opts Options) error {
	var c Container
	if err := json.Unmarshal(data, &c); err != nil {
		return fromDecode("/container", err).err(msgInvalidJSON)
	}
	normalizeContainer(&c)
	v := &violations{}
	containerRules(v, &c, nil, "/container", opts)
	if v.empty() {
		containerStateRules(v, &c, "/container")
	}
	return v.err(msgNotValid)
}

// containerRules are the API rules of a normalized container at prefix.
func containerRules(v *violations, c *Container, networks []Network, prefix string, opts Options) {
	var names []string
	for _, pm := range c.PortMappings {
		if pm.Name != "" {
			names = append(names, pm.Name)
		}
	}
	if len(dedupe(names)) != len(names) {
		v.add(prefix+"/portMappings", "Port names must be unique.")
	}
	externalContainerRules(v, c, prefix)
	for i := range c.Volumes {
		volumeRules(v, &c.Volumes[i], c.Type, fmt.Sprintf("%s/volumes(%d)", prefix, i), opts)
	}
	switch c.Type {
	case "DOCKER":
		if c.Docker == nil {
			v.add(prefix+"/docker", "not defined")
		}
	case "MESOS":
		if c.Docker != nil && c.AppC != nil {
			v.add(prefix, "mesos containers should specify, at most, a single image type")
		}
	}
	if c.Docker != nil && c.Docker.Image == "" {
		v.add(prefix+"/docker/image", "must not be empty")
	}
}

// containerStateRules are the state-model rules the API rules leave out.
func containerStateRules(v *violations, c *Container, prefix string) {
	for i := range c.Volumes {
		volumeStateRules(v, &c.Volumes[i], fmt.Sprintf("%s/volumes(%d)", prefix, i))
	}
}

// volumeRules are the API rules of one normalized volume at prefix, in a
// container of type ctype.
func volumeRules(v *violations, vol *AppVolume, ctype, prefix string, opts Options) {
	cp := deref(vol.ContainerPath)
	switch {
	case vol.Persistent != nil:
		switch {
		case cp == "":
			v.add(prefix+"/containerPath", "must not be empty")
		case cp == "." || cp == "..":
			v.add(prefix+"/containerPath", "can not be one of (.,..)")
		}
		if strings.Contains(cp, "/") {
			v.add(prefix+"/containerPath", `value must not contain "/"`)
		}
		if vol.Mode != "RW" {
			v.add(prefix+"/mode", "does not equal RW")
		}
		persistentInfoRules(v, vol.Persistent, prefix+"/persistent")
	case vol.External != nil:
		externalVolumeRules(v, vol, ctype, prefix, opts)
	case vol.Secret == nil: // a host volume
		if cp == "" {
			v.add(prefix+"/containerPath", "must not be empty")
		}
		if deref(vol.HostPath) == "" {
			v.add(prefix+"/hostPath", "must not be empty")
		}
	default:
		if cp == "" {
			v.add(prefix+"/containerPath", "must not be empty")
		}
	}
}

// persistentInfoRules are the API rules of a persistent volume's info.
func persistentInfoRules(v *violations, info *PersistentVolumeInfo, prefix string) {
	if info.Size <= 0 {
		v.addf(prefix+"/size", "got %d, expected more than 0", info.Size)
	}
	for i, c := range info.Constraints {
		volumeConstraintRules(v, c, fmt.Sprintf("%s/constraints(%d)", prefix, i))
	}
	if info.Type != "mount" && info.MaxSize != nil {
		v.add(prefix, "Only mount volumes can have maxSize")
	}
	if info.Type == "root" && len(info.Constraints) > 0 {
		v.add(prefix, "Constraints on root volumes are not supported")
	}
	if info.MaxSize != nil && *info.MaxSize <= info.Size {
		v.add(prefix, "Max size must be larger than size")
	}
}

// volumeStateRules: the state model also requires a profile name that is
// not empty (PersistentVolumeInfo.haveProperProfileName); its path is the
// state model's (VolumeWithMount.volume).
func volumeStateRules(v *violations, vol *AppVolume, prefix string) {
	externalStateRules(v, vol, prefix)
	if vol.Persistent != nil && vol.Persistent.ProfileName != nil && *vol.Persistent.ProfileName == "" {
		v.add(prefix+"/volume/persistent/profileName", "must not be empty")
	}
}
