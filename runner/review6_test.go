package runner

import (
	"testing"
	"time"

	"github.com/zkfence/zkfence/lock"
)

// Review 6: a previous holder that its first waiter fenced (FencedBy) and
// that ran on THIS node (same fence id). With an agent that fences at the
// storage (fence_scsi, fence_mpath), "confirmed off" only means that the
// node's key was removed: the old holder's processes on this node (frozen
// with their container, or dirty pages the kernel still has to write back)
// are alive and can write as soon as the key is back. Our action=on of our
// own id (the same id) registers that key again, so FencedBy no longer
// holds: the same-node rule applies (wait out the lock-delay), not the
// "fenced by its first waiter, no wait" shortcut.
//
//  1. A holds on node-a (token 41); node-a freezes (container frozen with
//     its child).
//  2. C, A's first waiter, fences node-a (fence_scsi off: the key is
//     removed, A's processes live on, frozen), writes {41, FencedBy node-c}
//     and deletes A's lock node.
//  3. C loses the lock; B, on node-a too (same host, fence id = host name),
//     takes it: takeOver reads FencedBy, sets r.fenced, no lock-delay, then
//     unfences node-a (action=on): node-a's key is back.
//  4. A's container thaws: its child (or the kernel flushing A's dirty
//     pages) writes before A's wrapper kills it, beside B's child.
func TestFencedByOnOurOwnFenceIDIsWaitedOut(t *testing.T) {
	h := newHarness(t)
	h.withFencer("node-a")
	h.hold.state = unclean // {41, node-a}
	h.hold.state.FencedBy = "node-c"
	h.withStorage()
	h.cfg.Fence = &FenceConfig{LockDelay: time.Hour} // the fake clock is not advanced: never waited out
	out := h.run()
	h.waitEvent("lock acquired")
	time.Sleep(500 * time.Millisecond) // real time: what takeOver does without waiting has happened
	for _, e := range h.ev.list() {
		switch e {
		case "unfence node-a", "fence state claimed", "storage prepare", "child started":
			t.Errorf("%q before the lock-delay of a previous holder on this node (events %q)", e, h.ev.list())
		}
	}
	h.lease.lose(lock.ErrSessionExpired)
	_ = h.awaitRun(out, 5*time.Second)
}
