package restore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// The restore script has filled staging when the lease ends (its ctx is
// cancelled). settleTree then chowned and chmodded every file of the tree
// and ran a syncfs of the whole filesystem before it first looked at ctx:
// on a big tree on NFS that is minutes of writes to the shared filesystem
// after the lease's kill deadline, while the next holder's restore removes
// this staging directory. Past the lease, nothing more may be written.
func TestAttackSettleTreeWritesAfterTheLease(t *testing.T) {
	staging := t.TempDir()
	var files []string
	for i := range 50 {
		p := filepath.Join(staging, fmt.Sprintf("f%02d", i))
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o666); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	fsRef, err := os.Open(staging)
	if err != nil {
		t.Fatal(err)
	}
	defer fsRef.Close()
	root, err := os.OpenRoot(staging)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the lease ended
	_, _, _, err = settleTree(ctx, root, fsRef, engines[Postgres], target{uid: os.Getuid(), gid: os.Getgid()})
	if err == nil {
		t.Fatal("settleTree succeeded with its ctx cancelled")
	}
	changed := 0
	for _, p := range files {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm() != 0o666 {
			changed++
		}
	}
	if changed > 0 {
		t.Errorf("settleTree changed the mode of %d of %d files after its ctx (the lease) had ended", changed, len(files))
	}
}
