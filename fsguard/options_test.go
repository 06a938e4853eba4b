package fsguard

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseMountOptions(t *testing.T) {
	cases := []struct {
		in    string
		flags uintptr
		data  string
		bad   bool
	}{
		{in: ""},
		{in: "defaults"},
		{in: "noatime,data=ordered", flags: unix.MS_NOATIME, data: "data=ordered"},
		{in: "nosuid,nodev,noexec,errors=remount-ro,commit=5", flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, data: "errors=remount-ro,commit=5"},
		{in: "noatime,atime", flags: 0},
		{in: "sync,dirsync,lazytime", flags: unix.MS_SYNCHRONOUS | unix.MS_DIRSYNC | unix.MS_LAZYTIME},
		{in: "rw,relatime,logbufs=8", flags: unix.MS_RELATIME, data: "logbufs=8"},
		{in: "ro", bad: true},
		{in: "noatime,bind", bad: true},
		{in: "remount", bad: true},
		{in: "_netdev", bad: true},
		{in: "x-systemd.automount", bad: true},
		{in: "noatime,,data=ordered", bad: true},
	}
	for _, c := range cases {
		o, err := parseMountOptions(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("%q accepted: %+v", c.in, o)
			}
			continue
		}
		if err != nil || o.flags != c.flags || o.data != c.data {
			t.Errorf("%q = %#x %q %v; want %#x %q", c.in, o.flags, o.data, err, c.flags, c.data)
		}
	}
}
