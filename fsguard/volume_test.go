package fsguard

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		v    Volume
		bad  string // a part of the error, "" when valid
	}{
		{"shared, any type", Volume{Path: "/data"}, ""},
		{"shared with pattern and source", Volume{Path: "/data", FSType: "fuse.*", Source: "srv:/x"}, ""},
		{"device", Volume{Path: "/data", Device: "/dev/disk/by-id/x", FSType: "ext4", MountOptions: "noatime"}, ""},
		{"xfs device", Volume{Path: "/data", Device: "/dev/sdb", FSType: "xfs"}, ""},
		{"relative path", Volume{Path: "data"}, "not absolute"},
		{"unclean path", Volume{Path: "/data/"}, "not clean"},
		{"root", Volume{Path: "/"}, "root filesystem"},
		{"empty path", Volume{}, "empty"},
		{"bad pattern", Volume{Path: "/data", FSType: "fuse.["}, "bad pattern"},
		{"options without device", Volume{Path: "/data", MountOptions: "noatime"}, "need a device"},
		{"device without type", Volume{Path: "/data", Device: "/dev/sdb"}, "plain fstype"},
		{"device with pattern", Volume{Path: "/data", Device: "/dev/sdb", FSType: "ext*"}, "plain fstype"},
		{"device with unchecked type", Volume{Path: "/data", Device: "/dev/sdb", FSType: "btrfs"}, "no checker"},
		{"relative device", Volume{Path: "/data", Device: "sdb", FSType: "ext4"}, "not absolute"},
		{"read-only options", Volume{Path: "/data", Device: "/dev/sdb", FSType: "ext4", MountOptions: "ro"}, "writable"},
	}
	for _, c := range cases {
		err := c.v.Validate()
		switch {
		case c.bad == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.bad != "" && (err == nil || !strings.Contains(err.Error(), c.bad)):
			t.Errorf("%s: got %v, want an error with %q", c.name, err, c.bad)
		case err != nil && !errors.Is(err, ErrStorageRefused):
			t.Errorf("%s: %v does not wrap ErrStorageRefused", c.name, err)
		}
	}
}

func TestValidateVolumes(t *testing.T) {
	if err := ValidateVolumes(nil); err == nil {
		t.Error("no volume accepted")
	}
	ok := []Volume{{Path: "/data"}, {Path: "/data/wal"}}
	if err := ValidateVolumes(ok); err != nil {
		t.Error(err)
	}
	twice := []Volume{{Path: "/data"}, {Path: "/data"}}
	if err := ValidateVolumes(twice); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("same path twice: %v", err)
	}
	dev := []Volume{{Path: "/a", Device: "/dev/sdb", FSType: "ext4"}, {Path: "/b", Device: "/dev/sdb", FSType: "ext4"}}
	if err := ValidateVolumes(dev); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("same device twice: %v", err)
	}
}

func TestMatchFSType(t *testing.T) {
	for _, c := range []struct {
		pattern, actual string
		want            bool
	}{
		{"", "nfs4", true}, {"*", "ext4", true}, {"nfs4", "nfs4", true}, {"nfs", "nfs4", false},
		{"fuse.*", "fuse.glusterfs", true}, {"fuse.*", "fuse", false}, {"fuse*", "fuse", true},
		{"nfs*", "nfs", true},
	} {
		if got := matchFSType(c.pattern, c.actual); got != c.want {
			t.Errorf("matchFSType(%q, %q) = %v", c.pattern, c.actual, got)
		}
	}
}

func TestProbeConfigValidate(t *testing.T) {
	if err := (ProbeConfig{DefaultProbeInterval, DefaultProbeTimeout}).Validate(); err != nil {
		t.Error(err)
	}
	for _, c := range []ProbeConfig{{0, time.Second}, {time.Second, 0}, {10 * time.Millisecond, time.Second}} {
		if err := c.Validate(); !errors.Is(err, ErrStorageRefused) {
			t.Errorf("%+v: %v", c, err)
		}
	}
}
