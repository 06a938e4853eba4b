package runner

import (
	"errors"
	"testing"
	"time"

	"github.com/zkfence/zkfence/fence"
	"github.com/zkfence/zkfence/lock"
)

// Review 7 (the holder's node-checked fence-state write): the old holder's
// volume-record release on cleanup after ZooKeeper said the lock is gone.
//
//  1. A holds (token 42), its child runs, its record {42, A} is on the
//     shared volume.
//  2. A's lock node is deleted (a fast-takeover waiter whose agent said
//     "off" for a node that runs on, or an operator), or A's session
//     expires: B holds the lock from this instant.
//  3. A SIGKILLs its child (confirmed dead) and cleans up: releaseStorage
//     reads the record (still {42, A}) and writes {42, A, released}.
//  4. B meanwhile wrote {43, B} (fence.Acquire: r.fenced, or the lock-delay
//     of an operator's delete already over): when A's read came before B's
//     write and A's write after it, A's write lands over B's record, on the
//     shared volume, after B holds the lock. B's keeper then finds token 42
//     and SIGKILLs B's child (exit 92), and a later holder that finds no
//     fence state in ZooKeeper (dealWithUnrecorded) reads "42, released"
//     where B, not released, should be named.
//
// A holder whose lock ZooKeeper says is gone writes nothing more on the
// volume, as its keeper already does (fenceValid).
func TestReview7NoVolumeReleaseAfterTheLockIsGone(t *testing.T) {
	for _, loss := range []error{lock.ErrNodeGone, lock.ErrSessionExpired} {
		t.Run(loss.Error(), func(t *testing.T) {
			h := newHarness(t)
			root := t.TempDir()
			h.withStorage().roots = []string{root}
			h.cfg.Fence = &FenceConfig{LockDelay: time.Second, ClaimNew: true}
			out := h.run()
			h.waitStarted()
			ours, err := fence.Read(root)
			if err != nil || ours.Token != 42 {
				t.Fatalf("record at the start: %+v, %v", ours, err)
			}
			h.lease.lose(loss)
			err = h.awaitRun(out, 10*time.Second)
			if !errors.Is(err, ErrLockLost) {
				t.Errorf("error %v, want ErrLockLost", err)
			}
			now, rerr := fence.Read(root)
			if rerr != nil || now.Token != ours.Token || now.Released != ours.Released || !now.Heartbeat.Equal(ours.Heartbeat) {
				t.Errorf("the volume's record was written after ZooKeeper said the lock is gone (another node may hold it "+
					"and have written its own): was %+v, now %+v, %v", ours, now, rerr)
			}
			h.check(phase{want: []string{"child started", "stop SIGKILL"}, errIs: []error{ErrLockLost}}, err)
		})
	}
}
