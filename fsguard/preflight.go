package fsguard

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
)

// Preflight checks volumes for `zkfence check`: without the lock, so it
// changes nothing. A shared filesystem gets every check of Prepare but the
// write probe; a block device gets the device checks and its checker in
// no-change mode (e2fsck -n, xfs_repair -n), and is not mounted. It returns
// one error per failed volume (each wraps ErrStorageRefused), and a line
// per volume that passed.
func Preflight(ctx context.Context, vols []Volume) (ok []string, problems []error) {
	for _, v := range vols {
		var err error
		var what string
		if v.Device == "" {
			what, err = preflightShared(ctx, v)
		} else {
			what, err = preflightDevice(ctx, v)
		}
		if err != nil {
			problems = append(problems, err)
		} else {
			ok = append(ok, what)
		}
	}
	return ok, problems
}

func preflightShared(ctx context.Context, v Volume) (string, error) {
	var m mountEntry
	err := withCheckTimeout(ctx, func() error {
		path, err := filepath.EvalSymlinks(v.Path)
		if err != nil {
			return refusef("%s: %w", v.Path, err)
		}
		m, err = inspectMount(v, path)
		return err
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s: mounted, %s from %s, read-write", v.Path, m.FSType, m.Source), nil
}

func preflightDevice(ctx context.Context, v Volume) (string, error) {
	var d device
	err := withCheckTimeout(ctx, func() error {
		path, err := filepath.EvalSymlinks(v.Path)
		if err != nil {
			return refusef("mount target: %w", err)
		}
		if err := checkTarget(path); err != nil {
			return err
		}
		if d, err = resolveDevice(v.Device); err != nil {
			return err
		}
		if err := checkNotMounted(d, path); err != nil {
			return err
		}
		return d.measure()
	})
	if err != nil {
		return "", err
	}
	c, _ := checkerFor(v.FSType) // validated
	c.args = noChange(c)
	r, err := runChecker(ctx, c, d.Path, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return "", refusef("%s: %w", v, err)
	}
	if r.Verdict == verdictRefuse {
		return "", refusef("%s: %s would refuse it (exit %d, %s): %s", v, r.Command, r.Code, r.Meaning, r.Output)
	}
	return fmt.Sprintf("%s: block device of %d bytes, not mounted, %s: exit %d (%s)", v.Device, d.Size, r.Command, r.Code, r.Meaning), nil
}

// noChange returns the checker's arguments in read-only mode.
func noChange(c checker) []string {
	if c.program == "e2fsck" {
		return []string{"-n"}
	}
	return c.args // xfs_repair -n only reads already
}
