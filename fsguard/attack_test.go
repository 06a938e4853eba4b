package fsguard

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/zkfence/zkfence/internal/fstest"
)

// freezeOnMount is a log handler that freezes the FUSE daemon under the
// device's image the instant Prepare logs "device mounted": the device stops
// answering between the mount and the post-mount checks, as a network block
// device whose server hangs right then.
type freezeOnMount struct {
	slog.Handler
	once   sync.Once
	freeze func()
}

func (h *freezeOnMount) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "device mounted" {
		h.once.Do(h.freeze)
	}
	return h.Handler.Handle(ctx, r)
}

// Prepare mounts the device, then its post-mount write probe hangs (the
// device stopped answering) and is refused after CheckTimeout; the undo's
// sync hangs too, so the device stays mounted on this node. Prepare then
// returned nil with its error: the caller (the run) saw no storage, marked
// the fence state released and deleted its lock node, and the next holder
// fsck'd and mounted a device still mounted here. Prepare must hand back
// what it still holds. About 60 s (two CheckTimeouts).
func TestAttackPrepareForgetsADeviceItCouldNotUnmount(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: about 60 s")
	}
	fstest.RequireRoot(t)
	fuse := fstest.BindFS(t, t.TempDir())
	image, err := fstest.MakeImage(fuse.Mnt, 32, "ext4")
	if err != nil {
		t.Fatal(err)
	}
	l, err := fstest.NewLoop(image)
	if err != nil {
		t.Fatal(err)
	}
	target := t.TempDir()
	t.Cleanup(func() { // runs before the bindfs cleanup: thaw, unmount, detach
		fuse.Thaw()
		for i := 0; i < 50 && len(fstest.MountPointsOf(l.Dev)) > 0; i++ {
			fstest.UnmountIfMounted(t, target)
			time.Sleep(100 * time.Millisecond)
		}
		if err := l.Detach(); err != nil {
			t.Logf("detach %s: %v", l.Dev, err)
		}
	})
	h := &freezeOnMount{Handler: slog.NewTextHandler(os.Stderr, nil), freeze: func() {
		if err := fuse.Freeze(); err != nil {
			t.Errorf("freeze: %v", err)
		}
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p, err := Prepare(ctx, []Volume{{Path: target, Device: l.Dev, FSType: "ext4"}}, slog.New(h))
	if err == nil {
		t.Fatal("Prepare succeeded on a device that stopped answering after the mount")
	}
	still := fstest.MountPointsOf(l.Dev)
	t.Logf("Prepare: %v; %s still mounted at %v", err, l.Dev, still)
	if len(still) > 0 && (p == nil || !p.holds()) {
		t.Errorf("Prepare failed with %s still mounted at %v and returned nothing that holds it: "+
			"its caller lets go of the lock and the next holder mounts the device too", l.Dev, still)
	}
}
