package fsguard

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// Volume is one guarded mount.
//
// Shared filesystem mode (Device == ""): Path must already be a mount point.
// FSType is a pattern in path.Match syntax ("nfs4", "fuse.*", "*"); ""
// accepts any type. Note that "fuse.*" does not match a plain "fuse" (what a
// FUSE filesystem mounted by root without a subtype reports, bindfs among
// them): use "fuse*" for both. Source, when given, must equal the mount's
// source (paths are compared after resolving symbolic links).
//
// Block device mode (Device != ""): Prepare checks Device, runs the checker
// for FSType (which must then be a plain type with a known checker, see
// Checkers), and mounts it at Path with MountOptions ("noatime,data=ordered":
// mount(8) flag names become mount flags, the rest the data string).
//
// MinFree is the number of bytes that must be available to an unprivileged
// writer (statfs f_bavail) when the volume is prepared.
type Volume struct {
	Path, FSType, Source string
	Device, MountOptions string
	MinFree              uint64
}

// Validate checks the volume's fields without any system call, so that bad
// input is refused before ZooKeeper is contacted (I7). Its errors wrap
// ErrStorageRefused.
func (v Volume) Validate() error {
	if err := validatePath("mount path", v.Path); err != nil {
		return err
	}
	if v.FSType != "" {
		if _, err := path.Match(v.FSType, ""); err != nil {
			return refusef("fstype %q: bad pattern: %v", v.FSType, err)
		}
	}
	if v.Device == "" {
		if v.MountOptions != "" {
			return refusef("%s: mount options need a device to mount (block device mode)", v.Path)
		}
		return nil
	}
	return v.validateDevice()
}

// validateDevice checks the fields of block device mode.
func (v Volume) validateDevice() error {
	if err := validatePath("device", v.Device); err != nil {
		return err
	}
	if v.FSType == "" || isPattern(v.FSType) {
		return refusef("device %s: a plain fstype is needed to check and mount it, got %q", v.Device, v.FSType)
	}
	if _, ok := checkerFor(v.FSType); !ok {
		return refusef("device %s: no checker for fstype %q (supported: %s); refusing to mount unchecked",
			v.Device, v.FSType, strings.Join(Checkers(), ", "))
	}
	if _, err := parseMountOptions(v.MountOptions); err != nil {
		return refusef("device %s: mount options %q: %w", v.Device, v.MountOptions, err)
	}
	return nil
}

// validatePath accepts an absolute, clean path other than "/".
func validatePath(what, p string) error {
	switch {
	case p == "":
		return refusef("%s is empty", what)
	case !filepath.IsAbs(p):
		return refusef("%s %q is not absolute", what, p)
	case filepath.Clean(p) != p:
		return refusef("%s %q is not clean (want %q)", what, p, filepath.Clean(p))
	case p == "/":
		return refusef("%s is /: the root filesystem is not guarded storage", what)
	}
	return nil
}

func isPattern(s string) bool { return strings.ContainsAny(s, `*?[\`) }

// matchFSType reports whether a mount of type actual satisfies pattern.
func matchFSType(pattern, actual string) bool {
	if pattern == "" {
		return true
	}
	ok, _ := path.Match(pattern, actual) // validated
	return ok
}

// ValidateVolumes validates each volume and refuses two volumes on one path
// or one device.
func ValidateVolumes(vols []Volume) error {
	if len(vols) == 0 {
		return refusef("no volume")
	}
	paths, devices := map[string]bool{}, map[string]bool{}
	var errs []error
	for _, v := range vols {
		if err := v.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if paths[v.Path] {
			errs = append(errs, refusef("mount path %s given twice", v.Path))
		}
		if v.Device != "" && devices[v.Device] {
			errs = append(errs, refusef("device %s given twice", v.Device))
		}
		paths[v.Path], devices[v.Device] = true, true
	}
	return errors.Join(errs...)
}

// String names the volume in logs and errors.
func (v Volume) String() string {
	if v.Device != "" {
		return fmt.Sprintf("%s on %s (%s)", v.Device, v.Path, v.FSType)
	}
	return v.Path
}
