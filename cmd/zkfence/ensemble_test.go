package main

import (
	"syscall"
	"testing"
	"time"

	"github.com/zkfence/zkfence/internal/zkserver"
)

// ensembleOpts: tickTime 200ms, syncLimit 2, sessions up to 10s, matching
// fastFlags.
var ensembleOpts = zkserver.Options{TickTime: 200 * time.Millisecond, SyncLimit: 2, MaxSessionTimeout: 10 * time.Second}

func TestLeaderKillDoesNotCostTheLock(t *testing.T) {
	needBinaryAndZK(t)
	ens := zkserver.StartEnsemble(t, 3, ensembleOpts)
	dir := t.TempDir()
	// T = 10s: the stop would begin 6.2s after the last renewal, more than
	// a leader election takes even on a loaded machine (about 0.3-2s here).
	w := startWrapper(t, []string{"DIR=" + dir, "NAME=holder"},
		runArgs(ens.ConnString(), "/test/leader-kill", "--session-timeout", "10s", "--", "sh", "-c", loyalChild)...)
	w.waitLog(`msg="child started"`, 20*time.Second)
	leader, err := ens.Leader()
	if err != nil {
		t.Fatal(err)
	}
	if err := leader.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := ens.WaitForLeader(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	// Several lease budgets later the child still runs: a leader election
	// shorter than the budget must not stop the database.
	time.Sleep(5 * time.Second)
	select {
	case <-w.done:
		t.Fatalf("holder exited %d after a leader election\n%s", w.code, w.log())
	default:
	}
	w.signal(syscall.SIGTERM)
	if code := w.wait(15 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM, want 0", code)
	}
}

func TestIsolatedFollowerHolderDiesBeforeContenderIsGranted(t *testing.T) {
	needBinaryAndZK(t)
	ens := zkserver.StartEnsemble(t, 3, ensembleOpts)
	followers := ens.Followers()
	if len(followers) < 2 {
		t.Fatalf("%d followers, want 2", len(followers))
	}
	isolated, other := followers[0], followers[1]
	dir := t.TempDir()
	// The holder talks only to the follower that will be cut off from the
	// quorum; the contender talks to another member.
	a := startWrapper(t, []string{"DIR=" + dir, "NAME=a"}, runArgs(isolated.Addr(), "/test/isolated", "--", "sh", "-c", loyalChild)...)
	a.waitLog(`msg="child started"`, 20*time.Second)
	b := startWrapper(t, []string{"DIR=" + dir, "NAME=b"}, runArgs(other.Addr(), "/test/isolated", "--", "sh", "-c", loyalChild)...)
	b.waitLog(`msg="waiting for the lock"`, 20*time.Second)

	if err := ens.IsolatePeer(ens.Index(isolated)); err != nil {
		t.Fatal(err)
	}
	requireHolderDiedFirst(t, a, dir, time.Now(), "the isolation")
	if err := ens.HealPeer(ens.Index(isolated)); err != nil {
		t.Fatal(err)
	}
	b.signal(syscall.SIGTERM)
	b.wait(15 * time.Second)
}
