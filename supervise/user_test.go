package supervise

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

func TestLookupUser(t *testing.T) {
	defer func(p, g string) { passwdPath, groupPath = p, g }(passwdPath, groupPath)
	passwdPath, groupPath = "testdata/etc/passwd", "testdata/etc/group"
	ownGid := uint32(os.Getgid())
	ownUid := uint32(os.Getuid())
	cases := []struct {
		user, group string
		want        Identity
		err         error
	}{
		{"postgres", "", Identity{104, 110, []uint32{110, 109, 34}, "/var/lib/postgresql", "postgres"}, nil},
		{"104", "", Identity{104, 110, []uint32{110, 109, 34}, "/var/lib/postgresql", "postgres"}, nil},
		{"alice", "", Identity{1000, 1000, []uint32{1000, 34, 999}, "/home/alice", "alice"}, nil},
		{"mysql", "", Identity{105, 111, []uint32{111}, "/nonexistent", "mysql"}, nil},
		// A group replaces the primary gid and drops the supplementary groups (gosu, su-exec).
		{"postgres", "ssl-cert", Identity{104, 109, []uint32{109}, "/var/lib/postgresql", "postgres"}, nil},
		{"postgres", "4242", Identity{104, 4242, []uint32{4242}, "/var/lib/postgresql", "postgres"}, nil},
		// A numeric uid without entry keeps the wrapper's gid and gets HOME=/ (gosu, su-exec, docker --user).
		{"4242", "", Identity{4242, ownGid, []uint32{ownGid}, "/", ""}, nil},
		{"4242", "4343", Identity{4242, 4343, []uint32{4343}, "/", ""}, nil},
		// No user: the wrapper's own uid (root: the tests run as root), with the group given.
		{"", "mysql", Identity{ownUid, 111, []uint32{111}, "/root", "root"}, nil},
		{"nobody-here", "", Identity{}, ErrBadUser},
		{"postgres", "no-such-group", Identity{}, ErrBadUser},
		{"post:gres", "", Identity{}, ErrBadUser},
		{"postgres", "a:b", Identity{}, ErrBadUser},
		{"-1", "", Identity{}, ErrBadUser},
	}
	for _, c := range cases {
		t.Run(c.user+":"+c.group, func(t *testing.T) {
			got, err := LookupUser(c.user, c.group)
			if !errors.Is(err, c.err) {
				t.Fatalf("err %v, want %v", err, c.err)
			}
			if err == nil && !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestEnvFor(t *testing.T) {
	env := []string{"PATH=/bin", "HOME=/root", "USER=root", "LOGNAME=root", "A=1"}
	got := envFor(env, Identity{Home: "/var/lib/postgresql", Name: "postgres"})
	want := []string{"PATH=/bin", "A=1", "HOME=/var/lib/postgresql", "USER=postgres", "LOGNAME=postgres"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	got = envFor(env, Identity{Home: "/"})
	want = []string{"PATH=/bin", "A=1", "HOME=/"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("no name: got %q, want %q", got, want)
	}
	if got := dedupEnv([]string{"A=1", "B=2", "A=3", "C"}); !reflect.DeepEqual(got, []string{"A=3", "B=2", "C"}) {
		t.Errorf("dedupEnv: %q", got)
	}
}

// Test user and group, created when missing (the test runs as root).
const (
	testUser     = "zkfence-test"
	testSupGroup = "zkfence-test-sup"
	testHome     = "/home/zkfence-test"
)

func ensureTestUser(t *testing.T) {
	t.Helper()
	if exec.Command("getent", "group", testSupGroup).Run() != nil {
		if out, err := exec.Command("groupadd", testSupGroup).CombinedOutput(); err != nil {
			t.Fatalf("groupadd: %v\n%s", err, out)
		}
	}
	if exec.Command("getent", "passwd", testUser).Run() != nil {
		out, err := exec.Command("useradd", "-M", "-d", testHome, "-s", "/bin/sh",
			"-U", "-G", testSupGroup, testUser).CombinedOutput()
		if err != nil {
			t.Fatalf("useradd: %v\n%s", err, out)
		}
	}
}

// idOf asks getent(1) (through NSS, not our parser) for a user's ids.
func idOf(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("id", args...).Output()
	if err != nil {
		t.Fatalf("id %v: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}

// TestUserAsPID1 runs the child as the test user, with zkwrap as PID 1, and
// checks what the child sees: uid, gid, every group, HOME, USER, LOGNAME.
func TestUserAsPID1(t *testing.T) {
	ensureTestUser(t)
	uid, gid := idOf(t, "-u", testUser), idOf(t, "-g", testUser)
	groups := sortedFields(idOf(t, "-G", testUser))
	supGid := strings.TrimSpace(runOut(t, "getent", "group", testSupGroup))
	supGid = strings.Split(supGid, ":")[2]
	cases := []struct {
		name, user, group string
		want              string
	}{
		{"by name", testUser, "", fmt.Sprintf("%s %s [%s] %s %s %s", uid, gid, groups, testHome, testUser, testUser)},
		{"by uid", uid, "", fmt.Sprintf("%s %s [%s] %s %s %s", uid, gid, groups, testHome, testUser, testUser)},
		{"with group", testUser, testSupGroup, fmt.Sprintf("%s %s [%s] %s %s %s", uid, supGid, supGid, testHome, testUser, testUser)},
		{"uid without entry", "4242", "4343", "4242 4343 [4343] / - -"},
	}
	const probe = `echo "$(id -u) $(id -g) [$(id -G | tr ' ' '\n' | sort -n | tr '\n' ' ' | sed 's/ $//')] $HOME ${USER:--} ${LOGNAME:--}"`
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			flags := []string{"-user", c.user}
			if c.group != "" {
				flags = append(flags, "-group", c.group)
			}
			code, out := runInit(t, kindZkwrap, true, flags, "sh", "-c", probe)
			if code != 0 || strings.TrimSpace(out) != c.want {
				t.Errorf("exit %d, child saw %q, want %q", code, strings.TrimSpace(out), c.want)
			}
		})
	}
	t.Run("unknown user", func(t *testing.T) {
		if code, out := runInit(t, kindZkwrap, true, []string{"-user", "zkfence-no-such-user"}, "true"); code != 78 {
			t.Errorf("exit %d, want 78 (refused configuration); output:\n%s", code, out)
		}
	})
}

func sortedFields(s string) string {
	f := strings.Fields(s)
	sort.Slice(f, func(i, j int) bool { a, _ := strconv.Atoi(f[i]); b, _ := strconv.Atoi(f[j]); return a < b })
	return strings.Join(f, " ")
}

func runOut(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return string(out)
}
