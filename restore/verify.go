package restore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"

	"github.com/zkfence/zkfence/internal/durable"
)

// copyBufSize is the unit of reading, hashing, writing and of the checks of
// ctx between them.
const copyBufSize = 1 << 20

// bufPool holds copy buffers: a data directory has thousands of small
// files, and a fresh 1 MiB buffer for each costs more than copying them.
var bufPool = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// testHookChunk, when set (tests only), is called after every chunk copied:
// the kill-mid-restore test slows the copy down with it.
var testHookChunk func(n int)

// checkTree checks a backup's tree against its manifest before anything is
// copied, so that a truncated or tampered backup is skipped at once: every
// directory is a real directory (a symlink is never followed into), every
// file a regular file of the manifest's size. Messages tell only what the
// manifest says, never what was found: the files may be anyone's.
func checkTree(src *os.Root, m Manifest) error {
	for _, d := range m.Dirs {
		if d.Path == "." {
			continue
		}
		fi, err := src.Lstat(d.Path)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("%w: %s is %s, not a directory", ErrCorrupt, d.Path, durable.Kind(fi))
		}
	}
	for _, f := range m.Files {
		fi, err := src.Lstat(f.Path)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%w: %s is %s, not a regular file", ErrCorrupt, f.Path, durable.Kind(fi))
		}
		if fi.Size() != f.Size {
			return fmt.Errorf("%w: %s: size mismatch (the manifest says %d bytes)", ErrCorrupt, f.Path, f.Size)
		}
	}
	return nil
}

// copyVerified copies want.Path from src to a new file in dst with the
// given mode and owner, hashing on the way, and checks size and SHA-256
// against want (makeDurable fsyncs it later). The source is opened without
// following a link and checked to be a regular file.
// Problems with the source (unreadable, wrong size or hash) wrap
// ErrCorrupt, and their messages tell only the manifest's size and hash;
// any other error is about the destination.
func copyVerified(ctx context.Context, src, dst *os.Root, want File, mode fs.FileMode, uid, gid int, count *atomic.Int64) error {
	in, err := durable.OpenRegular(src, want.Path, -1)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	defer in.Close()
	out, err := dst.OpenFile(want.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	defer out.Close()
	sum, n, err := copyHashing(ctx, out, in, want.Size, count)
	if err != nil {
		return fmt.Errorf("%s: %w", want.Path, err)
	}
	if n != want.Size {
		return fmt.Errorf("%w: %s: size mismatch (the manifest says %d bytes)", ErrCorrupt, want.Path, want.Size)
	}
	if sum != want.SHA256 {
		return fmt.Errorf("%w: %s: SHA-256 mismatch (the manifest says %s)", ErrCorrupt, want.Path, want.SHA256)
	}
	if err := out.Chmod(mode); err != nil { // the umask applied at creation
		return err
	}
	if err := out.Chown(uid, gid); err != nil {
		return err
	}
	return out.Close()
}

// copyHashing copies in to out, at most limit+1 bytes, and returns the hex
// SHA-256 and length of what it read.
func copyHashing(ctx context.Context, out io.Writer, in io.Reader, limit int64, count *atomic.Int64) (string, int64, error) {
	h := sha256.New()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var n int64
	r := io.LimitReader(in, limit+1)
	for {
		if err := ctx.Err(); err != nil {
			return "", n, err
		}
		k, rerr := r.Read(buf)
		if k > 0 {
			h.Write(buf[:k])
			if _, err := out.Write(buf[:k]); err != nil {
				return "", n, err
			}
			n += int64(k)
			count.Add(int64(k))
			if testHookChunk != nil {
				testHookChunk(k)
			}
		}
		if rerr == io.EOF {
			return hex.EncodeToString(h.Sum(nil)), n, nil
		}
		if rerr != nil {
			return "", n, fmt.Errorf("%w: read: %v", ErrCorrupt, rerr)
		}
	}
}
