package restore

import (
	"github.com/zkfence/zkfence/internal/durable"

	"context"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// makeDurable puts a filled staging directory r on stable storage before it
// may be renamed into place. Files are not fsynced one by one while they
// are written: on ext4 every fsync of a small file is a journal commit, and
// a data directory holds thousands. Instead one syncfs(2) writes the bulk
// back in one go, then every file and directory (children first; files and
// dirs are paths in r) is fsynced, which is cheap once the data is out and
// is what counts on filesystems where syncfs promises less (NFS, FUSE).
// fsRef is a descriptor opened before the writes began, so that syncfs
// reports any writeback error since then.
func makeDurable(ctx context.Context, r *os.Root, fsRef *os.File, files, dirs []string) error {
	if err := ctx.Err(); err != nil { // the lock: a sync past it writes past it
		return err
	}
	if err := syncfs(fsRef); err != nil {
		return fmt.Errorf("syncfs: %w", err)
	}
	err := parallel(ctx, files, func(_ context.Context, p string) error { return fsyncIn(r, p) })
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := durable.SyncIn(r, dirs[i]); err != nil {
			return fmt.Errorf("fsync %s: %w", dirs[i], err)
		}
	}
	return nil
}

// syncfs flushes the whole filesystem holding f.
func syncfs(f *os.File) error {
	return unix.Syncfs(int(f.Fd()))
}

func fsyncIn(r *os.Root, p string) error {
	if err := durable.SyncIn(r, p); err != nil {
		return fmt.Errorf("fsync %s: %w", p, err)
	}
	return nil
}
