package runner

import (
	"testing"
	"time"
)

// Review 5, the holder's half of TestFastTakeoverHolderUnfencedAfterTheOffIsFencedAgain:
// a holder unfences itself at the storage (action=on) BEFORE it records
// itself in the fence state. The first waiter decides "recorded, and
// confirmed off" (FencedBy) from a state read before its off; a holder that
// recorded itself first and unfenced after could have its action=on land
// after that off (its node frozen with the agent in flight, or a slow
// agent), registering its key again while the next holder, trusting
// FencedBy, neither fences it nor waits. Recorded after its unfence, a
// holder seen recorded had its key back before the off took it away.
func TestHolderUnfencesBeforeItRecordsItself(t *testing.T) {
	h := newHarness(t)
	h.withFencer("node-b")
	h.hold.state = unclean
	h.withStorage()
	h.cfg.Fence = &FenceConfig{LockDelay: time.Hour}
	out := h.run()
	h.waitStarted()
	h.child.exit(0)
	err := h.awaitRun(out, 5*time.Second)
	h.check(phase{
		want: []string{"lock acquired", "fence off node-a", "unfence node-b", "fence state claimed", "storage prepare", "child started"},
	}, err)
}
