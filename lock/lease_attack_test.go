package lock

import (
	"testing"
	"time"
)

// The lease ends at its deadline (ZooKeeper out of reach): the run begins
// the graceful stop, since nobody can hold the lock yet. During the grace
// ZooKeeper answers again and says the lock is gone (the node deleted by an
// operator or a reaper; another contender holds it from that instant). The
// lease must still report it, so that the grace ends at once: the lease
// loop used to return at the deadline, and the loss it was sent afterwards
// was never read, so the child's shutdown (a checkpoint, for PostgreSQL)
// went on writing next to the new holder.
func TestAttackDefinitiveLossAfterTheDeadlineIsReported(t *testing.T) {
	h := newLeaseHarness(t, func() Budget { return fastBudget })
	h.clk.Advance(fastBudget.StopAfter())
	select {
	case <-h.lease.Lost():
	case <-time.After(5 * time.Second):
		t.Fatal("the lease did not end at its deadline")
	}
	if err := h.lease.Err(); !Definitive(err) && err != ErrLeaseDeadline {
		t.Fatalf("ended with %v, want ErrLeaseDeadline", err)
	}
	h.loss <- ErrNodeGone
	deadline := time.Now().Add(2 * time.Second)
	for !Definitive(h.lease.Err()) {
		if time.Now().After(deadline) {
			t.Fatalf("the lock node was deleted after the deadline, and the lease still says %v: "+
				"the graceful stop goes on while another node holds the lock", h.lease.Err())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
