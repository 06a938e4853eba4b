package lock

import (
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// Node names follow Apache Curator's InterProcessMutex, so that Curator, Kazoo
// and zkfence contenders queue on one lock path together:
//
//	_c_<uuid>-lock-<10-digit sequence>   Curator (protected mode) and zkfence
//	<anything>-lock-<seq>                 Curator without protection
//	<hex>__lock__<seq>                    Kazoo's Lock
//
// The sequence is the parent's counter, shared by every child, so sequences of
// different kinds compare correctly. Other children are not contenders and are
// ignored.
const (
	protectedPrefix = "_c_"
	curatorLockName = "-lock-"
	kazooLockName   = "__lock__"
	sequenceDigits  = 10
)

// contender is one child of the lock path that takes part in the lock.
type contender struct {
	Name string
	Seq  int64
}

// newNodePrefix returns the name prefix for a new protected node; ZooKeeper
// appends the sequence.
func newNodePrefix() (prefix, id string) {
	id = uuid.NewString()
	return protectedPrefix + id + curatorLockName, id
}

// parseContender returns the child as a contender, or false when it does not
// take part in the lock.
func parseContender(name string) (contender, bool) {
	for _, marker := range []string{curatorLockName, kazooLockName} {
		i := strings.LastIndex(name, marker)
		if i < 0 {
			continue
		}
		digits := name[i+len(marker):]
		if len(digits) != sequenceDigits {
			continue
		}
		seq, err := strconv.ParseInt(digits, 10, 64)
		if err != nil || seq < 0 {
			continue
		}
		return contender{Name: name, Seq: seq}, true
	}
	return contender{}, false
}

// sortedContenders filters children down to contenders, lowest sequence first.
func sortedContenders(children []string) []contender {
	var out []contender
	for _, c := range children {
		if k, ok := parseContender(c); ok {
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

// findByID returns the child created with protection id, if any.
func findByID(children []string, id string) (string, bool) {
	prefix := protectedPrefix + id + curatorLockName
	for _, c := range children {
		if strings.HasPrefix(c, prefix) {
			return c, true
		}
	}
	return "", false
}

// position returns the index of name among sorted contenders, or -1.
func position(sorted []contender, name string) int {
	for i, c := range sorted {
		if c.Name == name {
			return i
		}
	}
	return -1
}
