package fsguard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"
)

// CheckTimeout bounds the checks of one volume in Prepare that touch a
// filesystem or a device (mount table, statfs, write probe, device open): a
// volume that does not answer within it is refused, never waited for. It
// does not bound a checker (fsck), which may rightly take long on a big
// filesystem and is bounded by Prepare's ctx.
const CheckTimeout = 30 * time.Second

// Prepared is the storage Prepare checked, and mounted, for one run.
type Prepared struct {
	vols []*guarded
	log  *slog.Logger

	mu sync.Mutex // serializes Release
}

// guarded is one prepared volume: what the live probe compares against.
type guarded struct {
	vol   Volume
	path  string     // the mount point, symbolic links resolved
	mount mountEntry // the mount as Prepare found or made it
	dev   *device    // block device mode only
	ours  bool       // Prepare mounted it and Release has not unmounted it yet
	probe flight     // at most one probe in flight
}

// Prepare checks every volume, in order, and in block device mode checks
// and mounts the device. It must run with the lock held, and ctx must be
// cancelled when the lock is lost: a checker's whole group then gets
// SIGKILL at once (package heldexec) and nothing more is mounted (I4). On any failure
// it unmounts what it mounted and returns an error wrapping
// ErrStorageRefused that says which volume and why (with the checker's
// output when the checker refused). When an unmount fails too, it returns
// with the error the Prepared that still holds those mounts (nil
// otherwise): the device is still mounted here, so the caller must not let
// go of the lock unless a later Release succeeds. A nil log means
// slog.Default().
func Prepare(ctx context.Context, vols []Volume, log *slog.Logger) (*Prepared, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := ValidateVolumes(vols); err != nil {
		return nil, err
	}
	p := &Prepared{log: log}
	for _, v := range vols {
		start := time.Now()
		g, err := prepareOne(ctx, v, log)
		if err != nil {
			undo, cancel := context.WithTimeout(context.Background(), CheckTimeout)
			defer cancel()
			err = errors.Join(err, p.Release(undo))
			if g != nil && g.ours {
				p.vols = append(p.vols, g)
			}
			if p.holds() {
				return p, err
			}
			return nil, err
		}
		p.vols = append(p.vols, g)
		log.Info("storage ready", "path", g.path, "fstype", g.mount.FSType, "source", g.mount.Source,
			"mounted_by_zkfence", g.ours, "took", time.Since(start).Round(time.Millisecond))
	}
	return p, nil
}

func prepareOne(ctx context.Context, v Volume, log *slog.Logger) (*guarded, error) {
	if err := ctx.Err(); err != nil {
		return nil, refusef("%s: not prepared: %w", v, context.Cause(ctx))
	}
	if v.Device != "" {
		return prepareDevice(ctx, v, log)
	}
	g := &guarded{vol: v}
	err := withCheckTimeout(ctx, func() (err error) {
		if g.path, err = filepath.EvalSymlinks(v.Path); err != nil {
			return refusef("%s: %w", v.Path, err)
		}
		g.mount, err = checkMount(v, g.path)
		return err
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// withCheckTimeout runs f bounded by ctx and CheckTimeout.
func withCheckTimeout(ctx context.Context, f func() error) error {
	ctx, cancel := context.WithTimeoutCause(ctx, CheckTimeout,
		fmt.Errorf("%w: no answer within %s", ErrStorageRefused, CheckTimeout))
	defer cancel()
	return bounded(ctx, f)
}

// holds reports whether a mount Prepare made is still mounted.
func (p *Prepared) holds() bool {
	for _, g := range p.vols {
		if g.ours {
			return true
		}
	}
	return false
}

// Paths lists the guarded mount points, in order.
func (p *Prepared) Paths() []string {
	var out []string
	for _, g := range p.vols {
		out = append(out, g.path)
	}
	return out
}

// Release syncs and unmounts, in reverse order, the mounts Prepare made, and
// nothing else: a mount that is no longer the one Prepare made is left alone
// and reported. Each sync and unmount is bounded by ctx (a dead device can
// block them forever); an unmount still busy after a short retry is
// reported. Give ctx a deadline: a sync of a dead device never ends. A later
// call retries only what is still mounted. Stop the
// Watcher first, and call it after the child is dead and before the lock is
// released.
func (p *Prepared) Release(ctx context.Context) error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for i := len(p.vols) - 1; i >= 0; i-- {
		g := p.vols[i]
		if !g.ours {
			continue
		}
		if err := unmountOwn(ctx, g.path, g.mount.ID); err != nil {
			p.log.Error("storage NOT unmounted", "path", g.path, "device", g.dev.Path, "err", err)
			errs = append(errs, err)
			continue
		}
		g.ours = false
		p.log.Info("storage unmounted", "path", g.path, "device", g.dev.Path)
	}
	return errors.Join(errs...)
}
