package main

import (
	"errors"
	"io/fs"
	"os"
	"time"

	"github.com/docker/go-units"
	"github.com/urfave/cli/v2"

	"github.com/zkfence/zkfence/fsguard"
)

// perMountFlags may be given once (for every --mount) or once per --mount,
// paired with the mounts by position.
var perMountFlags = []string{"fstype", "mount-source", "min-free"}

// storageFlags guard the storage the child runs on (package fsguard).
//
// Pairing: --mount may be repeated (data and WAL on separate volumes).
// --fstype, --mount-source and --min-free are each given not at all, once
// (it applies to every mount), or exactly as many times as --mount (paired
// by position; "*" accepts any type in a position). --device and
// --mount-options (block device mode) go with exactly one --mount. In the
// environment, repeated values are separated by commas
// (ZKFENCE_MOUNT=/data,/wal), so a path with a comma can be given only as
// a flag.
func storageFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "mount", EnvVars: env("mount"),
			Usage: "guard this mount `path`: it must be a mount point (shared mode) or is where --device is mounted; repeatable"},
		&cli.StringSliceFlag{Name: "fstype", EnvVars: env("fstype"),
			Usage: "expected filesystem `type` (nfs4, glusterfs, ext4; a pattern like 'fuse.*' in shared mode); once, or once per --mount"},
		&cli.StringSliceFlag{Name: "mount-source", EnvVars: env("mount-source"),
			Usage: "expected mount `source` (server:/export, /dev/...); once, or once per --mount"},
		&cli.StringFlag{Name: "device", EnvVars: env("device"),
			Usage: "block `device` to check (e2fsck -p, xfs_repair -n) and mount at --mount once the lock is held; needs --fstype"},
		&cli.StringFlag{Name: "mount-options", EnvVars: env("mount-options"),
			Usage: "`options` for mounting --device, as mount -o takes them (noatime,data=ordered)"},
		&cli.StringSliceFlag{Name: "min-free", EnvVars: env("min-free"),
			Usage: "refuse to start with less than this much `space` available (10GiB, 500M, bytes; K/M/G/T are powers of 1024); once, or once per --mount"},
		&cli.DurationFlag{Name: "probe-interval", EnvVars: env("probe-interval"), Value: fsguard.DefaultProbeInterval,
			Usage: "probe every guarded mount this often while the child runs"},
		&cli.DurationFlag{Name: "probe-timeout", EnvVars: env("probe-timeout"), Value: fsguard.DefaultProbeTimeout,
			Usage: "a probe taking longer than this means the mount is lost (a hung NFS or FUSE); loss is detected within interval + timeout"},
	}
}

// volumesFromFlags reads the storage flags. With no --mount it returns no
// volume, and refuses a flag that shows storage was meant to be guarded
// (--fstype, --device, ...): forgetting --mount must not silently run the
// child unguarded. The probe timings alone are harmless and ignored.
func volumesFromFlags(c *cli.Context) ([]fsguard.Volume, fsguard.ProbeConfig, error) {
	probe := fsguard.ProbeConfig{Interval: c.Duration("probe-interval"), Timeout: c.Duration("probe-timeout")}
	mounts := c.StringSlice("mount")
	if len(mounts) == 0 {
		for _, name := range append(perMountFlags, "device", "mount-options") {
			if c.IsSet(name) {
				return nil, probe, refused("--%s needs --mount", name)
			}
		}
		return nil, probe, nil
	}
	if err := probe.Validate(); err != nil {
		return nil, probe, refused("--probe-interval/--probe-timeout: %v", err)
	}
	if c.IsSet("device") && len(mounts) != 1 {
		return nil, probe, refused("--device goes with exactly one --mount, got %d", len(mounts))
	}
	vols, err := pairVolumes(c, mounts)
	if err != nil {
		return nil, probe, err
	}
	if err := fsguard.ValidateVolumes(vols); err != nil {
		return nil, probe, refused("%v", err)
	}
	for _, v := range vols {
		if err := mountPathExists(v.Path); err != nil {
			return nil, probe, err
		}
	}
	return vols, probe, nil
}

// mountStatLimit bounds the stat of a --mount path before the lock: a hard
// NFS mount whose server is gone blocks stat forever, and that is for the
// storage checks under the lock to report, not for flag parsing to hang on.
const mountStatLimit = 2 * time.Second

// mountPathExists refuses a --mount path that does not exist or is not a
// directory: that is a configuration no storage check under the lock can
// make right, so it is refused before the lock is taken. A stat that does
// not answer in time is left to the storage checks.
func mountPathExists(path string) error {
	done := make(chan error, 1) // buffered: a stuck stat's goroutine never blocks on it
	go func() {
		fi, err := os.Stat(path)
		if err == nil && !fi.IsDir() {
			err = errors.New("not a directory")
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return refused("--mount %s: %v (a mount path must be an existing directory)", path, errUnwrapPath(err))
		}
	case <-time.After(mountStatLimit):
	}
	return nil
}

// errUnwrapPath drops the path os.Stat repeats in its error.
func errUnwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// pairVolumes builds one volume per --mount from the per-mount flags.
func pairVolumes(c *cli.Context, mounts []string) ([]fsguard.Volume, error) {
	per := map[string][]string{}
	for _, name := range perMountFlags {
		vals, err := perMount(c, name, len(mounts))
		if err != nil {
			return nil, err
		}
		per[name] = vals
	}
	vols := make([]fsguard.Volume, len(mounts))
	for i, m := range mounts {
		minFree, err := parseSize(per["min-free"][i])
		if err != nil {
			return nil, err
		}
		vols[i] = fsguard.Volume{Path: m, FSType: per["fstype"][i], Source: per["mount-source"][i],
			Device: c.String("device"), MountOptions: c.String("mount-options"), MinFree: minFree}
	}
	return vols, nil
}

// perMount returns n values of a per-mount flag: none given means n empty
// values, one given applies to all, n given pair by position.
func perMount(c *cli.Context, name string, n int) ([]string, error) {
	vals := c.StringSlice(name)
	out := make([]string, n)
	switch len(vals) {
	case 0:
	case 1:
		for i := range out {
			out[i] = vals[0]
		}
	case n:
		copy(out, vals)
	default:
		return nil, refused("--%s given %d times for %d --mount: give it once (for every mount) or once per --mount, "+
			"in the same order", name, len(vals), n)
	}
	return out, nil
}

// parseSize reads --min-free: bytes, or a number with K, M, G, T, P (any
// case, optional "i" and "B"), all powers of 1024. "" means no minimum.
func parseSize(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := units.RAMInBytes(s)
	if err != nil || n < 0 {
		return 0, refused("--min-free %q: want bytes or a size like 10GiB or 500M (%v)", s, err)
	}
	return uint64(n), nil
}
