package fsguard

import (
	"reflect"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
)

const sampleMountinfo = `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
36 22 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
40 22 0:45 / /srv/with\040space rw,nosuid shared:7 master:2 - nfs4 server:/export\040x rw,vers=4.2
41 40 7:0 / /srv/with\040space ro,relatime - ext4 /dev/loop0 rw
42 22 0:50 / /data rw,relatime - fuse /tmp/src rw,user_id=0,group_id=0,allow_other
43 22 7:1 / /wal rw,relatime - ext4 /dev/loop1 ro,errors=remount-ro
44 22 0:51 / /bare rw - tmpfs tmpfs rw
45 22 7:2 / /erro rw,relatime - ext4 /dev/loop2 rw,emergency_ro
46 22 7:3 / /down rw,relatime - ext4 /dev/loop3 rw,shutdown
`

// parseMountinfo reads a mount table as readMountinfo reads this process's.
func parseMountinfo(s string) ([]mountEntry, error) {
	infos, err := mountinfo.GetMountsFromReader(strings.NewReader(s), nil)
	return entriesOf(infos), err
}

func TestParseMountinfo(t *testing.T) {
	table, err := parseMountinfo(sampleMountinfo)
	if err != nil {
		t.Fatal(err)
	}
	if len(table) != 9 {
		t.Fatalf("got %d entries, want 9", len(table))
	}
	want := mountEntry{ID: 40, Parent: 22, Major: 0, Minor: 45, Root: "/", MountPoint: "/srv/with space",
		Options: []string{"rw", "nosuid"}, FSType: "nfs4", Source: "server:/export x", SuperOptions: []string{"rw", "vers=4.2"}}
	if !reflect.DeepEqual(table[2], want) {
		t.Errorf("entry 40:\n got %+v\nwant %+v", table[2], want)
	}
	if table[6].Source != "tmpfs" || !reflect.DeepEqual(table[6].SuperOptions, []string{"rw"}) {
		t.Errorf("entry 44: %+v", table[6])
	}
}

func TestMountAtTakesTheTopOfAStack(t *testing.T) {
	table, _ := parseMountinfo(sampleMountinfo)
	cases := []struct {
		path   string
		wantID int
	}{
		{"/srv/with space", 41}, // 41 is mounted over 40
		{"/data", 42},
		{"/", 22},
		{"/mnt/parent", 36},
		{"/nothing", 0},
		{"/data/", 0}, // callers pass clean paths
	}
	for _, c := range cases {
		m, ok := mountAt(table, c.path)
		if ok != (c.wantID != 0) || m.ID != c.wantID {
			t.Errorf("mountAt(%q) = %d, %v; want %d", c.path, m.ID, ok, c.wantID)
		}
	}
	// Reversed order: the stack decides, not the position.
	rev := []mountEntry{table[3], table[2]}
	if m, _ := mountAt(rev, "/srv/with space"); m.ID != 41 {
		t.Errorf("reversed table: got %d, want 41", m.ID)
	}
}

func TestUnwritable(t *testing.T) {
	table, _ := parseMountinfo(sampleMountinfo)
	for _, c := range []struct {
		i    int
		want string
	}{{0, ""}, {3, "mounted read-only"}, {5, "filesystem read-only"}, {4, ""},
		{7, "filesystem read-only after an error (emergency_ro)"}, {8, "filesystem shut down"}} {
		if got := table[c.i].unwritable(); got != c.want {
			t.Errorf("entry %d unwritable = %q, want %q", table[c.i].ID, got, c.want)
		}
	}
}

// A malformed table is an error, not a table that lacks the mount (which
// would read as a lost mount).
func TestParseMountinfoRejectsGarbage(t *testing.T) {
	for _, bad := range []string{"1 2 3", "1 1 81 / / rw - ext4 /dev/sda1 rw", "1 1 8:1 / / rw - ext4",
		"1 1 8:1 / / rw shared:1 ext4 /dev/sda1 rw", `1 1 8:1 / /a\04 rw - ext4 /dev/sda1 rw`} {
		if _, err := parseMountinfo(bad + "\n"); err == nil {
			t.Errorf("parseMountinfo(%q) accepted", bad)
		}
	}
}

func TestReadMountinfoOfThisProcess(t *testing.T) {
	table, err := readMountinfo()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := mountAt(table, "/"); !ok {
		t.Fatalf("no mount at / in %d entries", len(table))
	}
}
