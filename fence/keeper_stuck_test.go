package fence

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkfence/zkfence/internal/clock"
	"github.com/zkfence/zkfence/internal/fstest"
)

// A heartbeat stuck in the read of the record (a volume that stopped
// answering: a frozen bindfs) writes nothing once valid is false, so Stop
// reports that nothing of the keeper can still write, and the record is
// left alone when the volume answers again.
func TestKeeperStuckInAReadWritesNothing(t *testing.T) {
	fuse := fstest.BindFS(t, t.TempDir())
	c := Claim{Service: "/svc", Token: 7, Holder: "me"}
	was := Record{Service: c.Service, Token: c.Token, Holder: c.Holder, Heartbeat: time.Now().UTC().Round(0)}
	if err := Write(fuse.Src, was); err != nil {
		t.Fatal(err)
	}
	if err := fuse.Freeze(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fuse.Thaw() })
	var valid atomic.Bool
	valid.Store(true)
	k := Keep([]string{fuse.Mnt}, c, 10*time.Millisecond, valid.Load, clock.Real{}, quiet)
	time.Sleep(100 * time.Millisecond) // the first beat is stuck in the read
	valid.Store(false)                 // the run stops: its lease ended
	if !k.Stop() {
		t.Fatal("Stop says a heartbeat may still write, but it is stuck in a read")
	}
	if err := fuse.Thaw(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if r, err := Read(fuse.Src); err != nil || !r.Heartbeat.Equal(was.Heartbeat) {
		t.Fatalf("the record was written after the keeper was stopped: %+v, %v", r, err)
	}
}
