package fstest

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Zombie reports whether pid is gone or a zombie (dead, not yet reaped):
// for tests that check a process zkfence started no longer runs.
func Zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] == 'Z'
}

// PidFile is the pid written in the file at path (a decimal number; white
// space around it is allowed), or 0 while the file is missing, empty or
// holds no number yet: tests poll it while a process they started writes it.
func PidFile(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid < 0 {
		return 0
	}
	return pid
}

// WaitPidFile polls PidFile(path) every 5 ms for up to timeout, and returns
// the pid, or 0 when none came.
func WaitPidFile(path string, timeout time.Duration) int {
	for deadline := time.Now().Add(timeout); ; time.Sleep(5 * time.Millisecond) {
		if pid := PidFile(path); pid > 0 || time.Now().After(deadline) {
			return pid
		}
	}
}

// ExitStatus is the exit code a shell would report for the error of a
// finished exec.Cmd: 0 for nil, the code, 128+N for a death by signal N,
// and -1 when the command did not run.
func ExitStatus(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return -1
}
