package restore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
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

// checkSizes stats every file of a backup before anything is copied, so that
// a truncated or incomplete backup is skipped at once.
func checkSizes(src string, m Manifest) error {
	for _, f := range m.Files {
		fi, err := os.Lstat(filepath.Join(src, f.Path))
		if err != nil {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if !fi.Mode().IsRegular() || fi.Size() != f.Size {
			return fmt.Errorf("%w: %s: %d bytes (%v), manifest says %d", ErrCorrupt, f.Path, fi.Size(), fi.Mode().Type(), f.Size)
		}
	}
	return nil
}

// copyVerified copies src to a new file dst with the given mode and owner,
// hashing on the way, and checks size and SHA-256 against want (makeDurable
// fsyncs it later).
// Problems with src (unreadable, wrong size or hash) wrap ErrCorrupt; any
// other error is about the destination.
func copyVerified(ctx context.Context, src, dst string, want File, mode fs.FileMode, uid, gid int, count *atomic.Int64) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	defer out.Close()
	sum, n, err := copyHashing(ctx, out, in, want.Size, count)
	if err != nil {
		return fmt.Errorf("%s: %w", want.Path, err)
	}
	if n != want.Size || sum != want.SHA256 {
		return fmt.Errorf("%w: %s: %d bytes sha256 %s, manifest says %d bytes sha256 %s",
			ErrCorrupt, want.Path, n, sum, want.Size, want.SHA256)
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
