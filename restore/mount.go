package restore

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// mountInfo is the mount table of this process.
const mountInfo = "/proc/self/mountinfo"

// isMountPoint reports whether dir is a mount point: rename(2) onto it fails
// (EBUSY), so a restore must fill it in place. It reads the mount table,
// which also sees bind mounts of the same filesystem, and falls back to
// comparing st_dev with the parent's.
func isMountPoint(dir string) (bool, error) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return false, err
	}
	if ok, err := inMountTable(real); err == nil {
		return ok, nil
	}
	a, err := devOf(real)
	if err != nil {
		return false, err
	}
	b, err := devOf(filepath.Dir(real))
	if err != nil {
		return false, err
	}
	return a != b, nil
}

// inMountTable reports whether path is the mount point of an entry in
// /proc/self/mountinfo (field 5, octal escapes decoded).
func inMountTable(path string) (bool, error) {
	f, err := os.Open(mountInfo)
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 5 && unescapeMount(fields[4]) == path {
			return true, nil
		}
	}
	return false, sc.Err()
}

// unescapeMount decodes the \ooo escapes the kernel writes for space, tab,
// newline and backslash in mount paths.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// devOf returns the st_dev of path.
func devOf(path string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, fmt.Errorf("stat %s: %w", path, err)
	}
	return st.Dev, nil
}
