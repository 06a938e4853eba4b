package fsguard

import (
	"fmt"
	"os/exec"
	"path/filepath"
)

// sbinDirs are searched after $PATH: a container's PATH often lacks them,
// and that is where Debian puts e2fsck and xfs_repair.
var sbinDirs = []string{"/usr/sbin", "/sbin", "/usr/local/sbin"}

// findTool locates a program in $PATH, then in the sbin directories.
func findTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range sbinDirs {
		if p, err := exec.LookPath(filepath.Join(dir, name)); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in $PATH or %v", name, sbinDirs)
}
