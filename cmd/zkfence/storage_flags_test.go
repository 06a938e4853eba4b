package main

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/zkfence/zkfence/fsguard"
)

// parseStorageFlags runs volumesFromFlags on a command line.
func parseStorageFlags(t *testing.T, args ...string) ([]fsguard.Volume, fsguard.ProbeConfig, error) {
	t.Helper()
	var vols []fsguard.Volume
	var probe fsguard.ProbeConfig
	var err error
	app := &cli.App{Name: "t", Flags: storageFlags(), ExitErrHandler: func(*cli.Context, error) {},
		Action: func(c *cli.Context) error {
			vols, probe, err = volumesFromFlags(c)
			return nil
		}}
	if runErr := app.Run(append([]string{"t"}, args...)); runErr != nil {
		t.Fatalf("cli: %v", runErr)
	}
	return vols, probe, err
}

func TestStorageFlags(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"data", "wal"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, wal := filepath.Join(root, "data"), filepath.Join(root, "wal")
	cases := []struct {
		name string
		args []string
		want []fsguard.Volume
	}{
		{"none", nil, nil},
		{"one shared mount", []string{"--mount", data, "--fstype", "nfs4", "--mount-source", "srv:/x", "--min-free", "10GiB"},
			[]fsguard.Volume{{Path: data, FSType: "nfs4", Source: "srv:/x", MinFree: 10 << 30}}},
		{"once applies to all", []string{"--mount", data, "--mount", wal, "--fstype", "fuse.*", "--min-free", "500M"},
			[]fsguard.Volume{{Path: data, FSType: "fuse.*", MinFree: 500 << 20}, {Path: wal, FSType: "fuse.*", MinFree: 500 << 20}}},
		{"paired by position", []string{"--mount", data, "--mount", wal, "--fstype", "nfs4", "--fstype", "*",
			"--mount-source", "a:/d", "--mount-source", "b:/w", "--min-free", "1048576", "--min-free", "0"},
			[]fsguard.Volume{{Path: data, FSType: "nfs4", Source: "a:/d", MinFree: 1 << 20}, {Path: wal, FSType: "*", Source: "b:/w"}}},
		{"device", []string{"--mount", data, "--device", "/dev/disk/by-id/x", "--fstype", "ext4", "--mount-options", "noatime,data=ordered"},
			[]fsguard.Volume{{Path: data, Device: "/dev/disk/by-id/x", FSType: "ext4", MountOptions: "noatime,data=ordered"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vols, probe, err := parseStorageFlags(t, c.args...)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(vols, c.want) {
				t.Errorf("got %+v\nwant %+v", vols, c.want)
			}
			if probe != (fsguard.ProbeConfig{Interval: fsguard.DefaultProbeInterval, Timeout: fsguard.DefaultProbeTimeout}) {
				t.Errorf("probe defaults: %+v", probe)
			}
		})
	}
}

func TestStorageFlagsRefused(t *testing.T) {
	cases := []struct {
		name string
		args []string
		says string
	}{
		{"fstype without mount", []string{"--fstype", "nfs4"}, "--fstype needs --mount"},
		{"device without mount", []string{"--device", "/dev/sdb"}, "--device needs --mount"},
		{"device with two mounts", []string{"--mount", "/a", "--mount", "/b", "--device", "/dev/sdb", "--fstype", "ext4"}, "exactly one --mount"},
		{"device without fstype", []string{"--mount", "/a", "--device", "/dev/sdb"}, "plain fstype"},
		{"device with unchecked fstype", []string{"--mount", "/a", "--device", "/dev/sdb", "--fstype", "btrfs"}, "no checker"},
		{"options without device", []string{"--mount", "/a", "--mount-options", "noatime"}, "need a device"},
		{"read-only device mount", []string{"--mount", "/a", "--device", "/dev/sdb", "--fstype", "ext4", "--mount-options", "ro"}, "writable"},
		{"pairing count", []string{"--mount", "/a", "--mount", "/b", "--mount", "/c", "--fstype", "nfs", "--fstype", "nfs4"}, "given 2 times for 3 --mount"},
		{"relative mount", []string{"--mount", "data"}, "not absolute"},
		{"same mount twice", []string{"--mount", "/a", "--mount", "/a"}, "given twice"},
		{"bad size", []string{"--mount", "/a", "--min-free", "10 parsecs"}, "--min-free"},
		{"negative size", []string{"--mount", "/a", "--min-free", "-1G"}, "--min-free"},
		{"probe interval too small", []string{"--mount", "/a", "--probe-interval", "1ms"}, "probe interval"},
		{"probe timeout zero", []string{"--mount", "/a", "--probe-timeout", "0s"}, "probe timeout"},
		{"probe interval of years", []string{"--mount", "/a", "--probe-interval", "2000000h"}, "probe interval 2000000h0m0s is outside"},
		{"probe timeout of years", []string{"--mount", "/a", "--probe-timeout", "2000000h"}, "probe timeout 2000000h0m0s is outside"},
		{"mount path does not exist", []string{"--mount", "/nonexistent-zkfence"}, "--mount /nonexistent-zkfence: no such file or directory"},
		{"mount path is a file", []string{"--mount", "/etc/hostname"}, "not a directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := parseStorageFlags(t, c.args...)
			if !errors.Is(err, errRefused) || !strings.Contains(err.Error(), c.says) {
				t.Errorf("got %v, want a refusal saying %q", err, c.says)
			}
			if code := exitCodeOf(err); code != 78 {
				t.Errorf("exit code %d, want 78", code)
			}
		})
	}
}

func TestStorageFlagsFromEnvironment(t *testing.T) {
	data, wal := t.TempDir(), t.TempDir()
	t.Setenv("ZKFENCE_MOUNT", data+","+wal)
	t.Setenv("ZKFENCE_FSTYPE", "nfs4")
	t.Setenv("ZKFENCE_MIN_FREE", "1G,2G")
	t.Setenv("ZKFENCE_PROBE_INTERVAL", "500ms")
	t.Setenv("ZKFENCE_PROBE_TIMEOUT", "3s")
	vols, probe, err := parseStorageFlags(t)
	if err != nil {
		t.Fatal(err)
	}
	want := []fsguard.Volume{{Path: data, FSType: "nfs4", MinFree: 1 << 30}, {Path: wal, FSType: "nfs4", MinFree: 2 << 30}}
	if !reflect.DeepEqual(vols, want) {
		t.Errorf("got %+v, want %+v", vols, want)
	}
	if probe != (fsguard.ProbeConfig{Interval: 500 * time.Millisecond, Timeout: 3 * time.Second}) {
		t.Errorf("probe: %+v", probe)
	}
}

func TestStorageFlagsHaveEnvVars(t *testing.T) {
	for _, f := range storageFlags() {
		name := f.Names()[0]
		env := f.(interface{ GetEnvVars() []string }).GetEnvVars()
		if len(env) != 1 || env[0] != "ZKFENCE_"+strings.ToUpper(strings.ReplaceAll(name, "-", "_")) {
			t.Errorf("--%s: env %v", name, env)
		}
	}
}
