package fence

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/zkfence/zkfence/internal/clock"
)

// A heartbeat stuck in the read of the record (a volume that stopped
// answering; here a FIFO, whose open blocks until it is fed) writes nothing
// once valid is false, so Stop reports that nothing of the keeper can still
// write, and the record is left alone when the read returns.
func TestKeeperStuckInAReadWritesNothing(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, Dir), 0o700); err != nil {
		t.Fatal(err)
	}
	p := Path(root)
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	c := Claim{Service: "/svc", Token: 7, Holder: "me"}
	var valid atomic.Bool
	valid.Store(true)
	k := Keep([]string{root}, c, 10*time.Millisecond, valid.Load, clock.Real{}, quiet)
	time.Sleep(100 * time.Millisecond) // the first beat is stuck in the open
	valid.Store(false)                 // the run stops: its lease ended
	if !k.Stop() {
		t.Fatal("Stop says a heartbeat may still write, but it is stuck in a read")
	}
	rec, _ := json.Marshal(Record{Service: c.Service, Token: c.Token, Holder: c.Holder, Heartbeat: time.Now().UTC()})
	fd, err := syscall.Open(p, syscall.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatalf("nothing reads the record: the test lost its stall: %v", err)
	}
	syscall.Write(fd, rec)
	syscall.Close(fd)
	time.Sleep(300 * time.Millisecond)
	if fi, err := os.Lstat(p); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the record was written after the keeper was stopped (%v, %v)", fi.Mode(), err)
	}
}
