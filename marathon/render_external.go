package marathon

import (
	"fmt"
	"strings"
)

// An external volume (VolumeSpec.Type "external") is a volume of a storage
// service (an EBS volume through REX-Ray) that Mesos' Docker volume
// isolator attaches to whichever agent runs the task, so that the
// database follows its task from node to node. Render writes:
//
//   - the volume: external.name (the volume in the storage service,
//     required: there is no safe default for a name that is unique in the
//     cluster), provider dvdi, options dvdi/driver (default rexray) and the
//     driver options, and the size in GiB (Size is MiB, rounded up); the
//     Docker containerizer takes neither size nor options;
//   - instances 1 and upgradeStrategy 0/0: Marathon stops the old task
//     before it starts the new one, and a volume attaches to one task;
//   - unreachableStrategy 300 s / 600 s: Marathon relaunches the task on
//     another agent 5 minutes after it lost the old one (the volume then
//     moves), and kills the old task if it comes back after 10 minutes;
//   - zkfence run guarding the mount (--mount, --fstype, default ext4,
//     which REX-Ray is asked to create with dvdi/newfstype), and the fence
//     agent (default fence_aws, --fence-required): a new holder whose
//     predecessor did not release cleanly has the old node powered off,
//     and confirmed off, before the database starts on the volume.

const volumeExternal = "external"

// externalDefaults fills in and checks an external volume's spec.
func (s Spec) externalDefaults(eng engine) (Spec, engine, error) {
	s.ID = absolutePath(s.ID)
	v := &s.Volume
	switch {
	case s.Kind != "app":
		return s, eng, fmt.Errorf("%w: an external volume is for an app: Marathon pods have none", ErrBadInput)
	case v.Name == "":
		return s, eng, fmt.Errorf("%w: an external volume needs a name (--volume-name): the volume in the "+
			"storage service, unique in the cluster", ErrBadInput)
	case !volumeName.MatchString(v.Name):
		return s, eng, fmt.Errorf("%w: volume name %q: want a-z, 0-9, '-', '_', '.'", ErrBadInput, v.Name)
	case v.Size < 0:
		return s, eng, fmt.Errorf("%w: the volume size (MiB) must be positive, got %d", ErrBadInput, v.Size)
	case v.MaxSize != 0 || v.ProfileName != "" || v.PathRegex != "":
		return s, eng, fmt.Errorf("%w: maxSize, profileName and pathRegex are for local volumes, not external", ErrBadInput)
	}
	for k := range v.Options {
		if k == "driver" || k == dvdiDriverOption {
			return s, eng, fmt.Errorf("%w: the volume driver is set with driver (--volume-driver), not as an option", ErrBadInput)
		}
	}
	defaultString(&v.Driver, driverRexRay)
	defaultString(&s.Fstype, "ext4")
	fence := FenceSpec{} // a copy: Render does not change its caller's spec
	if s.Fence != nil {
		fence = *s.Fence
	}
	defaultString(&fence.Agent, fenceAWS)
	s.Fence = &fence
	s.Volume.Options = dvdiOptions(v.Options)
	if v.Driver == driverRexRay && s.Containerizer != "DOCKER" {
		if _, ok := s.Volume.Options["dvdi/newfstype"]; !ok {
			s.Volume.Options["dvdi/newfstype"] = s.Fstype
		}
	}
	s, eng, err := s.commonDefaults(eng)
	if err != nil {
		return s, eng, err
	}
	if s.Containerizer == "DOCKER" && (v.Size > 0 || len(v.Options) > 0) {
		return s, eng, fmt.Errorf("%w: with the DOCKER containerizer an external volume takes no size and no "+
			"driver options (Marathon refuses them): create the volume beforehand, or use the MESOS containerizer", ErrBadInput)
	}
	return s, eng, nil
}

// dvdiOptions prefixes option names with "dvdi/" when they have no
// namespace.
func dvdiOptions(in map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range in {
		if !strings.Contains(k, "/") {
			k = "dvdi/" + k
		}
		out[k] = v
	}
	return out
}

// externalVolume is the volume as Marathon's container.volumes entry.
func (s Spec) externalVolume(containerPath string) AppVolume {
	opts := map[string]string{dvdiDriverOption: s.Volume.Driver}
	for k, v := range s.Volume.Options {
		opts[k] = v
	}
	ext := &ExternalVolumeInfo{Name: Str(s.Volume.Name), Provider: Str(providerDVDI), Options: opts}
	if s.Volume.Size > 0 {
		gib := (s.Volume.Size + 1023) / 1024
		ext.Size = &gib
	}
	return AppVolume{ContainerPath: Str(containerPath), Mode: "RW", External: ext}
}

// externalContainerPath is where the volume is mounted in the task: the
// engine's directory in the sandbox, or /var/lib/mysql for MySQL images.
func (s Spec) externalContainerPath(eng engine) string {
	if s.MySQLHostPath {
		return "/var/lib/mysql"
	}
	return eng.volume
}
