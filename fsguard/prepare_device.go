package fsguard

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"time"
)

// prepareDevice checks, fscks and mounts one device, in this order, each
// step only if the one before passed and ctx is not done (I4):
//
//  1. the target is a directory and not a mount point; the device is a
//     block device, mounted nowhere on this host, not held by another
//     kernel user, of non-zero size;
//  2. the checker for its type runs (fsck.go) and its verdict is honoured;
//  3. it is mounted, and the mount is checked as a shared mount would be.
//
// On failure after the mount it unmounts; when that unmount fails, it
// returns g (still ours) with the error, so that the device is never
// forgotten while mounted here.
func prepareDevice(ctx context.Context, v Volume, log *slog.Logger) (*guarded, error) {
	opts, _ := parseMountOptions(v.MountOptions) // validated
	g := &guarded{vol: v, dev: &device{}}
	err := withCheckTimeout(ctx, func() (err error) {
		if g.path, err = filepath.EvalSymlinks(v.Path); err != nil {
			return refusef("mount target: %w", err)
		}
		if err := checkTarget(g.path); err != nil {
			return err
		}
		if *g.dev, err = resolveDevice(v.Device); err != nil {
			return err
		}
		if err := checkNotMounted(*g.dev, g.path); err != nil {
			return err
		}
		return g.dev.measure()
	})
	if err != nil {
		return nil, err
	}
	if err := checkDevice(ctx, g, opts, log); err != nil {
		return stillMounted(g), err
	}
	if err := ctx.Err(); err != nil {
		return nil, refusef("%s: checked but not mounted: %w", v, context.Cause(ctx))
	}
	if g.mount, err = mountDevice(*g.dev, g.path, v.FSType, opts); err != nil {
		return nil, err
	}
	g.ours = true
	log.Info("device mounted", "device", g.dev.String(), "path", g.path, "fstype", v.FSType,
		"options", v.MountOptions, "size", g.dev.Size)
	var m mountEntry
	err = withCheckTimeout(ctx, func() (err error) { m, err = checkMount(v, g.path); return err })
	if err == nil && m.ID != g.mount.ID {
		err = refusef("%s: the mount changed under zkfence (ID %d, then %d)", g.path, g.mount.ID, m.ID)
	}
	if err != nil {
		if uerr := unmountAfterFailure(g); uerr != nil {
			return g, errors.Join(err, uerr) // still mounted here: g.ours stays true
		}
		return nil, err
	}
	return g, nil
}

// checkDevice runs the checker for the volume's type and acts on its
// verdict. An xfs whose log is dirty (the normal state after a crash) is
// mounted once to replay the log, unmounted, and checked again.
func checkDevice(ctx context.Context, g *guarded, opts mountOptions, log *slog.Logger) error {
	c, _ := checkerFor(g.vol.FSType) // validated
	r, err := runChecker(ctx, c, g.dev.Path, log)
	if err != nil {
		return err
	}
	logCheck(log, g, r)
	if r.Verdict == verdictReplay {
		if err := replayLog(ctx, g, opts, log); err != nil {
			return err
		}
		if r, err = runChecker(ctx, c, g.dev.Path, log); err != nil {
			return err
		}
		logCheck(log, g, r)
		if r.Verdict == verdictReplay {
			r.Verdict, r.Meaning = verdictRefuse, "the log is still dirty after a mount replayed it"
		}
	}
	if r.Verdict == verdictRefuse {
		return r.err()
	}
	return nil
}

func logCheck(log *slog.Logger, g *guarded, r checkResult) {
	level := slog.LevelInfo
	if r.Verdict != verdictOK {
		level = slog.LevelWarn
	}
	log.Log(context.Background(), level, "filesystem checked", "device", g.dev.String(), "command", r.Command,
		"code", r.Code, "meaning", r.Meaning, "took", r.Took.Round(time.Millisecond))
	if r.Verdict == verdictWarn {
		log.Warn("continuing after the checker's warning", "device", g.dev.String(), "output", r.Output)
	}
}

// replayLog mounts and unmounts the device so that the kernel replays its
// log.
func replayLog(ctx context.Context, g *guarded, opts mountOptions, log *slog.Logger) error {
	if err := ctx.Err(); err != nil {
		return refusef("%s: log not replayed: %w", g.vol, context.Cause(ctx))
	}
	log.Warn("the filesystem log is dirty (normal after a crash): mounting once to replay it, then checking again",
		"device", g.dev.String())
	m, err := mountDevice(*g.dev, g.path, g.vol.FSType, opts)
	if err != nil {
		return err
	}
	undo, cancel := context.WithTimeout(context.Background(), CheckTimeout)
	defer cancel()
	if err := unmountOwn(undo, g.path, m.ID); err != nil {
		g.mount, g.ours = m, true // still mounted here: Prepare returns it
		return refusef("%s: after replaying the log: %w", g.vol, err)
	}
	return nil
}

// stillMounted returns g when a mount of Prepare's is still on it, else nil.
func stillMounted(g *guarded) *guarded {
	if g.ours {
		return g
	}
	return nil
}

// unmountAfterFailure undoes Prepare's own mount of g.
func unmountAfterFailure(g *guarded) error {
	ctx, cancel := context.WithTimeout(context.Background(), CheckTimeout)
	defer cancel()
	return unmountOwn(ctx, g.path, g.mount.ID)
}
