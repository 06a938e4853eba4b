package restore

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// settleTree gives everything a script left in the staging directory r the
// target's owner and the engine's modes, and makes it durable (makeDurable;
// fsRef was opened before the script ran). Only directories, regular files
// and symlinks are accepted; symlinks are chowned, never followed. The
// staging directory itself keeps zkfence's owner and mode 0700 until it is
// placed: rootMode is the mode the data directory gets then.
func settleTree(ctx context.Context, r *os.Root, fsRef *os.File, eng engine, t target) (bytes int64, files int, rootMode fs.FileMode, err error) {
	var dirs, paths []string
	err = fs.WalkDir(r.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil { // the lock: nothing is written past it
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case p == ".":
			rootMode = eng.dirMode(fi.Mode())
			dirs = append(dirs, p)
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			return r.Lchown(p, t.uid, t.gid)
		case d.IsDir():
			dirs = append(dirs, p)
			return chownChmod(r, p, t.uid, t.gid, eng.dirMode(fi.Mode()))
		case d.Type().IsRegular():
			bytes += fi.Size()
			paths = append(paths, p)
			return chownChmod(r, p, t.uid, t.gid, eng.fileMode(fi.Mode()))
		}
		return fmt.Errorf("%s: unsupported file type %v in a data directory", p, d.Type())
	})
	if err != nil {
		return 0, 0, 0, err
	}
	return bytes, len(paths), rootMode, makeDurable(ctx, r, fsRef, paths, dirs)
}

// treeSize is the total size of the regular files under dir, for progress.
func treeSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
