package fsguard

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// Unmount retries: EBUSY right after the child died usually means a
// descendant or the kernel still holds a file for a moment.
const (
	unmountRetryFor   = 3 * time.Second
	unmountRetryEvery = 100 * time.Millisecond
)

// mountDevice mounts the device at path. It returns the new mount's entry
// from the mount table, so that it can be told apart from any later mount
// at the same path.
func mountDevice(d device, path, fstype string, o mountOptions) (mountEntry, error) {
	if err := unix.Mount(d.Path, path, fstype, o.flags, o.data); err != nil {
		return mountEntry{}, refusef("mount %s on %s (type %s, flags %#x, data %q): %w", d, path, fstype, o.flags, o.data, err)
	}
	table, err := readMountinfo()
	if err != nil {
		return mountEntry{}, fmt.Errorf("after mounting %s on %s: %w", d, path, err)
	}
	m, ok := mountAt(table, path)
	if !ok {
		return mountEntry{}, fmt.Errorf("mounted %s on %s but the mount table does not list it", d, path)
	}
	return m, nil
}

// unmountOwn syncs and unmounts the mount with the given ID at path, and
// only that one: if the mount at path is another (ours was lazily unmounted,
// or something was mounted over it) it is left alone and an error says so.
// The sync and the unmount can hang on a dead device: they run bounded by
// ctx and are abandoned when it ends. A sync that fails (EIO from a dead
// device) is reported, and the unmount is still done.
func unmountOwn(ctx context.Context, path string, id int) error {
	table, err := readMountinfo()
	if err != nil {
		return fmt.Errorf("unmount %s: %w", path, err)
	}
	m, ok := mountAt(table, path)
	if !ok || m.ID != id {
		return fmt.Errorf("unmount %s: the mount zkfence made (ID %d) is no longer the one there; leaving it alone", path, id)
	}
	syncErr := bounded(ctx, func() error { return syncfs(path) })
	if ctx.Err() != nil { // the sync hangs: so would the unmount
		return fmt.Errorf("sync %s before unmount: %w", path, syncErr)
	}
	if syncErr != nil { // a dead device: unmount anyway, nothing more can be saved
		syncErr = fmt.Errorf("sync %s before unmount: %w", path, syncErr)
	}
	return errors.Join(syncErr, bounded(ctx, func() error { return unmountRetry(ctx, path) }))
}

// syncfs writes out the dirty data of the filesystem mounted at path.
func syncfs(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Syncfs(fd)
}

// unmountRetry unmounts path, retrying on EBUSY for unmountRetryFor.
func unmountRetry(ctx context.Context, path string) error {
	deadline := time.Now().Add(unmountRetryFor)
	for {
		err := unix.Unmount(path, 0)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("unmount %s: %w", path, err)
		}
		time.Sleep(unmountRetryEvery)
	}
}
