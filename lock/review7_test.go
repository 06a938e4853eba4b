package lock

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// cutAfterFirstMultiConn applies the first multi and loses its answer; every
// later multi is lost before the server sees it (the connection keeps
// breaking), while reads still get through when reads is true.
type cutAfterFirstMultiConn struct {
	zkConn
	reads  bool
	multis atomic.Int32
}

func (c *cutAfterFirstMultiConn) Multi(ops ...interface{}) ([]zk.MultiResponse, error) {
	if c.multis.Add(1) == 1 {
		c.zkConn.Multi(ops...)
	}
	return nil, zk.ErrConnectionClosed
}

func (c *cutAfterFirstMultiConn) Get(path string) ([]byte, *zk.Stat, error) {
	if !c.reads {
		return nil, nil, zk.ErrConnectionClosed
	}
	return c.zkConn.Get(path)
}

// TestReview7LostAnswerNeverConfirmedFailsAtTheDeadline: a holder's write
// is applied and its answer lost; the re-read finds it (or cannot read at
// all), but the multi that would confirm the lock node is still there never
// gets an answer. The write must end in an error when ctx ends, never in a
// success (the holder would go on to storage with nothing confirming it
// still holds), and it must pause between attempts (no spin).
func TestReview7LostAnswerNeverConfirmedFailsAtTheDeadline(t *testing.T) {
	for _, reads := range []bool{true, false} {
		name := "reads_ok"
		if !reads {
			name = "reads_fail"
		}
		t.Run(name, func(t *testing.T) {
			_, p, a, held := holdForFenceState(t)
			defer a.conn.Delete(FenceStatePath(p), -1)
			c := &cutAfterFirstMultiConn{zkConn: a.conn, reads: reads}
			real := a.conn
			a.conn = c
			ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
			defer cancel()
			start := time.Now()
			st := FenceState{Service: p, Token: held.Token, Holder: "a", FenceID: "node-a", Updated: time.Now().UTC()}
			got, err := a.WriteFenceState(ctx, p, held.Node, VersionedFenceState{Version: -1}, st)
			took := time.Since(start)
			a.conn = real
			if err == nil || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("write never confirmed = %+v, %v; want an error wrapping the deadline", got, err)
			}
			if errors.Is(err, ErrFenceStateChanged) || errors.Is(err, ErrLockNodeGone) {
				t.Errorf("error %v: nothing was refused, the answer just never came", err)
			}
			if n := c.multis.Load(); int64(n) > int64(took/(200*time.Millisecond))+2 {
				t.Errorf("%d multis in %s: the loop does not pause", n, took)
			}
			if now, err := a.ReadFenceState(p); err != nil || now.Token != held.Token || now.Released {
				t.Errorf("state after the lost write: %+v, %v (the applied write stays, not released)", now, err)
			}
		})
	}
}
