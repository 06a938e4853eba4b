package supervise

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// defaultPath is execvp's search path when PATH is unset (glibc's _CS_PATH).
const defaultPath = "/bin:/usr/bin"

// lookPath resolves argv0 the way execvp does, so that 127 and 126 mean what
// they mean under tini and the shell:
//   - a name with a slash is used as is (relative to dir, where the child
//     runs);
//   - otherwise each entry of PATH is tried in order ("" is "."); the first
//     regular file with an execute bit wins;
//   - nothing found is ErrNotFound; something found but not executable (a
//     directory, no execute bit, an unreadable directory) is ErrNotExecutable.
//
// The final word is the child's execve, under the child's credentials: its
// error is classified the same way (execErr).
func lookPath(argv0 string, env []string, dir string) (string, error) {
	if strings.Contains(argv0, "/") {
		return argv0, checkExecutable(argv0, dir)
	}
	pathVar, ok := getEnv(env, "PATH")
	if !ok {
		pathVar, ok = os.LookupEnv("PATH")
	}
	if !ok {
		pathVar = defaultPath
	}
	var denied error
	for _, d := range filepath.SplitList(pathVar) {
		if d == "" {
			d = "."
		}
		p := d + "/" + argv0
		err := checkExecutable(p, dir)
		if err == nil {
			return p, nil
		}
		if denied == nil && errors.Is(err, ErrNotExecutable) {
			denied = err
		}
	}
	if denied != nil {
		return "", denied
	}
	return "", &pathError{argv0, ErrNotFound, syscall.ENOENT}
}

// checkExecutable tells whether path (relative paths taken from dir) is a
// regular file with an execute bit.
func checkExecutable(path, dir string) error {
	full := path
	if dir != "" && !filepath.IsAbs(path) {
		full = filepath.Join(dir, path)
	}
	fi, err := os.Stat(full)
	if err != nil {
		var errno syscall.Errno
		if errors.As(err, &errno) && errno != syscall.ENOENT && errno != syscall.ENOTDIR {
			return &pathError{path, ErrNotExecutable, errno}
		}
		return &pathError{path, ErrNotFound, syscall.ENOENT}
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return &pathError{path, ErrNotExecutable, syscall.EACCES}
	}
	return nil
}
