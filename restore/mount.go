package restore

import (
	"fmt"
	"syscall"

	"github.com/moby/sys/mountinfo"
)

// isMountPoint reports whether dir is a mount point: rename(2) onto it fails
// (EBUSY), so a restore must fill it in place. github.com/moby/sys/mountinfo
// resolves symlinks, then asks the kernel (openat2 with RESOLVE_NO_XDEV, or
// st_dev against the parent's) and reads the mount table when that is not
// conclusive, so bind mounts of the same filesystem are seen too.
func isMountPoint(dir string) (bool, error) {
	mp, err := mountinfo.Mounted(dir)
	if err != nil {
		return false, fmt.Errorf("is %s a mount point: %w", dir, err)
	}
	return mp, nil
}

// devOf returns the st_dev of path.
func devOf(path string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, fmt.Errorf("stat %s: %w", path, err)
	}
	return st.Dev, nil
}
