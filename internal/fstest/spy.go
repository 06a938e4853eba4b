package fstest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// FsckSpy records every run of the filesystem checkers by a process whose
// PATH starts with Dir: each checker there is a script that appends one line
// ("<unix time> <pid> <program> <args>") to Log and runs the real one. The
// end-to-end tests use it to show that only the lock holder ever checks a
// device (I4): start the wrapper with PATH=spy.Dir+":"+$PATH.
type FsckSpy struct {
	Dir string // put first in PATH
	Log string // one line per checker run
}

// spiedCheckers are the programs fsguard may run.
var spiedCheckers = []string{"e2fsck", "xfs_repair"}

// NewFsckSpy writes the spy scripts into dir.
func NewFsckSpy(dir string) (*FsckSpy, error) {
	s := &FsckSpy{Dir: filepath.Join(dir, "fsck-spy"), Log: filepath.Join(dir, "fsck-spy.log")}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return nil, err
	}
	for _, name := range spiedCheckers {
		real, err := exec.LookPath(name)
		if err != nil {
			if real, err = exec.LookPath(filepath.Join("/usr/sbin", name)); err != nil {
				return nil, err
			}
		}
		script := fmt.Sprintf("#!/bin/sh\necho \"$(date +%%s.%%N) $$ %s $*\" >> '%s'\nexec '%s' \"$@\"\n", name, s.Log, real)
		if err := os.WriteFile(filepath.Join(s.Dir, name), []byte(script), 0o755); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Calls returns the recorded runs, one line each.
func (s *FsckSpy) Calls() []string {
	b, err := os.ReadFile(s.Log)
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if line != "" {
			out = append(out, line)
		}
	}
	return out
}
