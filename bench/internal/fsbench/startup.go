package fsbench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/zkfence/zkfence/fsguard"
	"github.com/zkfence/zkfence/internal/fstest"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

func ctxBackground() context.Context { return context.Background() }

// StartupResult is the time Prepare adds to a wrapper's start.
type StartupResult struct {
	Shared Stats // bindfs mount: mount table, statfs, write probe
	Device Stats // clean ext4 on a loop device: checks, e2fsck -p, mount, checks
	DevMB  int
}

func (r StartupResult) String() string {
	return fmt.Sprintf("Prepare, shared FUSE mount: %s; Prepare, %d MiB ext4 block device (e2fsck -p + mount): %s",
		r.Shared, r.DevMB, r.Device)
}

// Startup times o.Trials Prepare calls of each mode; Release runs between
// trials and is not counted.
func Startup(o Options, devMB int) (StartupResult, error) {
	res := StartupResult{DevMB: devMB}
	scratch, err := os.MkdirTemp(o.Dir, "fsbench-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(scratch)
	src, mnt, target := filepath.Join(scratch, "src"), filepath.Join(scratch, "mnt"), filepath.Join(scratch, "target")
	for _, d := range []string{src, mnt, target} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return res, err
		}
	}
	b, err := fstest.StartBindFS(src, mnt)
	if err != nil {
		return res, err
	}
	defer b.Close()
	if res.Shared, err = timePrepare(o.Trials, fsguard.Volume{Path: mnt, FSType: "fuse*"}); err != nil {
		return res, err
	}
	image, err := fstest.MakeImage(scratch, devMB, "ext4")
	if err != nil {
		return res, err
	}
	l, err := fstest.NewLoop(image)
	if err != nil {
		return res, err
	}
	defer l.Detach()
	res.Device, err = timePrepare(o.Trials, fsguard.Volume{Path: target, Device: l.Dev, FSType: "ext4"})
	return res, err
}

func timePrepare(trials int, v fsguard.Volume) (Stats, error) {
	var ds []time.Duration
	for range trials {
		start := time.Now()
		p, err := fsguard.Prepare(ctxBackground(), []fsguard.Volume{v}, quietLog)
		took := time.Since(start)
		if err != nil {
			return Stats{}, err
		}
		if err := p.Release(ctxBackground()); err != nil {
			return Stats{}, err
		}
		ds = append(ds, took)
	}
	return summarize(ds), nil
}
