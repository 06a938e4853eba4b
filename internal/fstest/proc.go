package fstest

import (
	"os"
	"strconv"
	"strings"
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
