package runner

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/zkfence/zkfence/lock"
)

// FastTakeover lets the first waiter end a dead holder's tenure before
// ZooKeeper expires its session, but only through a fence agent: it probes
// the holder's health endpoint, and after After consecutive probes that got
// no answer it fences the holder's node, waits for the agent's confirmation,
// records the fence in the fence state, and deletes the holder's lock node
// (only the node it read: a node that changed or vanished is left alone).
// An unanswered probe alone is never a reason to take over: a partition
// between two nodes makes the waiter fence the holder, not run beside it.
type FastTakeover struct {
	Probe        time.Duration // interval between probes
	After        int           // consecutive failed probes before fencing
	ProbeTimeout time.Duration // a probe with no answer by then failed
}

// takeoverMetrics receives what the takeover does (health.State).
type takeoverMetrics interface {
	TakeoverProbe(ok bool)
	Takeover(cause string, sinceFirstFailure time.Duration)
}

// holderWatch is the first waiter's watch on the holder of lockPath.
type holderWatch struct {
	sess    *lock.Session
	cfg     *Config
	self    lock.Holder
	holder  string // the holder's node name
	metrics takeoverMetrics
	client  *http.Client
}

// run probes the holder until ctx ends or the holder is fenced and its
// node deleted.
func (w *holderWatch) run(ctx context.Context) {
	log := w.cfg.Logger
	node, err := w.sess.ReadContender(w.cfg.LockPath, w.holder)
	if err != nil {
		return // gone already: the lock recipe looks again
	}
	h, ok := lock.ParseHolder(node.Data)
	if !ok || h.HTTP == "" || h.FenceID == "" {
		log.Info("fast takeover: the holder publishes no health address or fence id; waiting for its session to expire",
			"holder_node", w.holder)
		return
	}
	if h.FenceID == w.self.FenceID {
		log.Error("fast takeover: the holder has this node's own fence id; fencing it would fence this node: give every node its own --fence-id",
			"fence_id", h.FenceID)
		return
	}
	if w.cfg.FencePeers != nil && !slices.Contains(w.cfg.FencePeers, h.FenceID) {
		log.Error("fast takeover: the holder's fence id is not in --fence-peers: not fencing it; waiting for its session to expire "+
			"(list it in --fence-peers if it is one of this service's nodes)", "fence_id", h.FenceID)
		return
	}
	ft := w.cfg.FastTakeover
	failures, first := 0, time.Time{}
	clk := w.cfg.Clock
	t := clk.NewTimer(ft.Probe)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		t.Reset(ft.Probe)
		if w.probe(ctx, h.HTTP) {
			failures = 0
			continue
		}
		if failures++; failures == 1 {
			first = clk.Now()
		}
		if failures < ft.After {
			continue
		}
		if err := w.fenceAndDelete(ctx, node, h); err != nil {
			if ctx.Err() != nil {
				// The watch ended while the agent ran (the lock came to
				// this node anyway, or the run stops): no failed fence.
				// A new holder fences the previous one itself.
				log.Info("fast takeover: stopped while fencing the holder", "holder", h.String(), "cause", context.Cause(ctx))
				return
			}
			log.Error("fast takeover: holder not taken over", "holder", h.String(), "err", err)
			failures = 0 // probe again; fence again after After more failures
			continue
		}
		took := clk.Now().Sub(first)
		w.metrics.Takeover("unreachable", took)
		log.Warn("fast takeover: the holder did not answer, was fenced and confirmed off, and its lock node deleted",
			"holder", h.String(), "fence_id", h.FenceID, "since_first_failed_probe", took.Round(time.Millisecond))
		return
	}
}

// probe reports whether the holder's health endpoint answered at all: any
// HTTP status, 503 included, means the holder runs and will stop on its own
// lease.
func (w *holderWatch) probe(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.FastTakeover.ProbeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
	if err != nil {
		return true // a malformed address is no proof of death
	}
	resp, err := w.client.Do(req)
	ok := err == nil
	if ok {
		resp.Body.Close()
	}
	w.metrics.TakeoverProbe(ok)
	return ok
}

// fenceAndDelete fences the holder's node, records the fence, then deletes
// its lock node: in that order, so that the lock changes hands only once
// the old node is confirmed off.
//
// The fence state is read BEFORE the off, and only that read decides
// whether the holder had recorded itself: with an agent that fences at the
// storage (fence_scsi, fence_mpath) the holder's node runs on, and its own
// unfence (action=on, which takeOver runs before it records itself) would
// register its key again if it landed after the off. A holder seen
// recorded before the off had unfenced before it; one that records itself
// after the read is left unsettled (no FencedBy: the write below names the
// version read), and the next holder fences it again, after its action=on.
func (w *holderWatch) fenceAndDelete(ctx context.Context, node lock.ContenderNode, h lock.Holder) error {
	prev, err := w.sess.ReadFenceState(w.cfg.LockPath)
	if err != nil {
		return err
	}
	if err := w.cfg.Fencer.Off(ctx, h.FenceID); err != nil {
		return fmt.Errorf("FENCING FAILED: %w", err)
	}
	if prev.Found() && prev.Token > node.Token {
		return fmt.Errorf("the fence state names token %d, newer than the holder's %d", prev.Token, node.Token)
	}
	if !prev.Found() || prev.Token < node.Token {
		// The holder died before it wrote itself in, while it may still
		// have been dealing with ITS predecessor (fencing it, or waiting out
		// the lock-delay): one the state names that never released and was
		// never confirmed off, or one that only a volume's fence record
		// names (the state missing, or restored from a backup and older
		// than the volumes). A FencedBy for the holder would hide that
		// predecessor from the next holder: leave the state as it is (the
		// next holder fences it, or waits it out). The holder itself,
		// confirmed off, never wrote anything, so it touched no storage
		// (takeOver writes first): it needs no record.
		w.cfg.Logger.Warn("fast takeover: the holder had not yet recorded itself; the fence state is kept for the next holder",
			"state_token", prev.Token, "state_fence_id", prev.FenceID)
		return w.deleteHolder(node)
	}
	st := lock.FenceState{Service: w.cfg.LockPath, Token: node.Token, Holder: h.String(), FenceID: h.FenceID,
		Updated: w.cfg.Clock.Now().UTC(), FencedBy: w.self.FenceID}
	st.Takeover = prev.Takeover // the holder's own state (prev.Token == node.Token)
	wctx, cancel := context.WithTimeout(ctx, zkTimeout)
	defer cancel()
	if _, err := w.sess.WriteFenceState(wctx, w.cfg.LockPath, "", prev, st); err != nil {
		return err
	}
	return w.deleteHolder(node)
}

// deleteHolder deletes the holder's lock node, only as it was read.
func (w *holderWatch) deleteHolder(node lock.ContenderNode) error {
	if err := w.sess.DeleteContender(w.cfg.LockPath, node); err != nil && !errors.Is(err, lock.ErrContenderChanged) {
		return err
	}
	return nil
}
