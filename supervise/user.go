package supervise

import (
	"fmt"
	"os"
	"strings"

	"github.com/moby/sys/user"
)

// Identity is who the child runs as, resolved the way gosu does it (gosu uses
// the same parser, moby/sys/user, formerly runc's libcontainer/user).
type Identity struct {
	Uid, Gid uint32
	// Groups are set with setgroups(2): the primary gid first, then the
	// supplementary groups (gosu's order).
	Groups []uint32
	Home   string // from passwd; "/" when the user has no entry
	Name   string // from passwd; "" when the user has no entry
}

// The account databases; tests point these at testdata.
var (
	passwdPath = "/etc/passwd"
	groupPath  = "/etc/group"
)

// LookupUser resolves a --user and --group pair (names or numeric ids) like
// gosu "user:group" and su-exec:
//   - a user found in passwd gives its uid, primary gid and home, and the
//     supplementary groups that list it in /etc/group;
//   - a numeric user without entry keeps the wrapper's gid (gosu and su-exec
//     both do so, and so does Docker's --user) and gets HOME=/;
//   - a group replaces the primary gid, and then the supplementary groups are
//     dropped (gosu and su-exec: the groups become just that gid);
//   - an empty user means the wrapper's own uid.
//
// Errors wrap ErrBadUser. Call it while validating configuration so that a
// typo is refused before anything starts; Start calls it again.
func LookupUser(userName, group string) (Identity, error) {
	if strings.Contains(userName, ":") || strings.Contains(group, ":") {
		return Identity{}, fmt.Errorf("%w: %q / %q: ':' is not allowed", ErrBadUser, userName, group)
	}
	spec := userName
	if group != "" {
		spec += ":" + group
	}
	defaults := &user.ExecUser{Uid: os.Getuid(), Gid: os.Getgid(), Home: "/"}
	eu, err := user.GetExecUserPath(spec, defaults, passwdPath, groupPath)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %q: %v", ErrBadUser, spec, err)
	}
	id := Identity{Uid: uint32(eu.Uid), Gid: uint32(eu.Gid), Home: eu.Home}
	id.Groups = append(id.Groups, uint32(eu.Gid))
	for _, g := range eu.Sgids {
		if uint32(g) != id.Gid {
			id.Groups = append(id.Groups, uint32(g))
		}
	}
	id.Name = passwdName(eu.Uid)
	return id, nil
}

// passwdName is the first passwd name of uid, or "".
func passwdName(uid int) string {
	users, err := user.ParsePasswdFileFilter(passwdPath, func(u user.User) bool { return u.Uid == uid })
	if err != nil || len(users) == 0 {
		return ""
	}
	return users[0].Name
}

// envFor returns env with HOME, USER and LOGNAME set for id (removed when the
// user has no name), like gosu (HOME) and login(1) (USER, LOGNAME).
func envFor(env []string, id Identity) []string {
	env = setEnv(env, "HOME", id.Home)
	for _, k := range []string{"USER", "LOGNAME"} {
		if id.Name == "" {
			env = unsetEnv(env, k)
		} else {
			env = setEnv(env, k, id.Name)
		}
	}
	return env
}

// dedupEnv keeps the last value of every key, in first-seen order, as os/exec
// does, so that what the child's getenv sees is what the caller meant last.
func dedupEnv(env []string) []string {
	last := map[string]int{}
	for i, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		last[k] = i
	}
	out := make([]string, 0, len(last))
	seen := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !seen[k] {
			seen[k] = true
			out = append(out, env[last[k]])
		}
	}
	return out
}

func setEnv(env []string, key, val string) []string {
	return append(unsetEnv(env, key), key+"="+val)
}

func unsetEnv(env []string, key string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// getEnv is the value of key in env ("" and false when absent).
func getEnv(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v, true
		}
	}
	return "", false
}
