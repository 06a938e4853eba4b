package fsguard

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// mountOptions is a parsed --mount-options: what mount(2) takes.
type mountOptions struct {
	flags uintptr
	data  string // the filesystem's own options, comma-separated
}

// flagOptions are mount(8)'s names of mount flags: the option sets (set) or
// clears (!set) the flag. Every other option goes to the filesystem.
var flagOptions = map[string]struct {
	flag uintptr
	set  bool
}{
	"rw": {unix.MS_RDONLY, false}, "defaults": {0, false},
	"nosuid": {unix.MS_NOSUID, true}, "suid": {unix.MS_NOSUID, false},
	"nodev": {unix.MS_NODEV, true}, "dev": {unix.MS_NODEV, false},
	"noexec": {unix.MS_NOEXEC, true}, "exec": {unix.MS_NOEXEC, false},
	"sync": {unix.MS_SYNCHRONOUS, true}, "async": {unix.MS_SYNCHRONOUS, false},
	"dirsync": {unix.MS_DIRSYNC, true},
	"noatime": {unix.MS_NOATIME, true}, "atime": {unix.MS_NOATIME, false},
	"nodiratime": {unix.MS_NODIRATIME, true}, "diratime": {unix.MS_NODIRATIME, false},
	"relatime": {unix.MS_RELATIME, true}, "norelatime": {unix.MS_RELATIME, false},
	"strictatime": {unix.MS_STRICTATIME, true}, "nostrictatime": {unix.MS_STRICTATIME, false},
	"lazytime": {unix.MS_LAZYTIME, true}, "nolazytime": {unix.MS_LAZYTIME, false},
	"silent": {unix.MS_SILENT, true}, "loud": {unix.MS_SILENT, false},
}

// refusedOptions cannot be honoured by a mount of a device that the child
// will write to, or are understood only by mount(8) and fstab, not by the
// kernel. They are refused rather than dropped: the options mean what the
// kernel does with them.
var refusedOptions = map[string]string{
	"ro":   "the child needs a writable mount",
	"bind": "not a device mount", "rbind": "not a device mount", "move": "not a device mount",
	"remount": "zkfence mounts afresh", "shared": "propagation is not set here",
	"private": "propagation is not set here", "slave": "propagation is not set here",
	"unbindable": "propagation is not set here", "auto": "fstab only", "noauto": "fstab only",
	"user": "fstab only", "users": "fstab only", "nouser": "fstab only", "owner": "fstab only",
	"group": "fstab only", "_netdev": "fstab only", "nofail": "fstab only", "loop": "mount(8) only",
}

// parseMountOptions splits "noatime,data=ordered" into mount flags and the
// data string.
func parseMountOptions(s string) (mountOptions, error) {
	var o mountOptions
	if s == "" {
		return o, nil
	}
	var data []string
	for _, opt := range strings.Split(s, ",") {
		name, _, _ := strings.Cut(opt, "=")
		if why, bad := refusedOptions[name]; bad || strings.HasPrefix(name, "x-") {
			if !bad {
				why = "fstab only"
			}
			return o, fmt.Errorf("option %q refused: %s", opt, why)
		}
		if opt == "" {
			return o, errors.New("empty option")
		}
		if f, ok := flagOptions[opt]; ok {
			if f.set {
				o.flags |= f.flag
			} else {
				o.flags &^= f.flag
			}
			continue
		}
		data = append(data, opt)
	}
	o.data = strings.Join(data, ",")
	return o, nil
}
