package main

// Start-up overhead: from the exec of the wrapper to the first instant of its
// child's main, for tini, dumb-init and zkfence running the same child
// (bench/benchchild -start), and for the child exec'd directly by the bench
// (the baseline, subtracted: it holds the bench's own fork+exec and the
// child's runtime start-up, the same under every wrapper).
//
// zkfence must talk to ZooKeeper before it may start the child. Its
// connection goes through a recording proxy that parses ZooKeeper's framing
// and times every request from the moment its last byte reaches the proxy to
// the moment the proxy has the whole reply. The requests on the critical
// path are all those up to and including the first plain Exists (the lock
// recipe's ownership check; later ones are lease renewals and the
// lock-node watch, which run beside the child's start). Their sum is
// "ZooKeeper round trips"; what is left is zkfence's own start-up (plus the
// proxy's extra loopback hop on each round trip, a few microseconds each).

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

func startupOverhead(e *env) ([]row, error) {
	child, err := childBin()
	if err != nil {
		return nil, err
	}
	for _, p := range []string{"/usr/bin/tini", "/usr/bin/dumb-init"} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s: %w (apt-get install tini dumb-init)", p, err)
		}
	}
	// For zkfence: pre = exec -> first request, between = its own time
	// between round trips, post = last reply -> child's main.
	type sample struct{ total, zk, pre, between, post time.Duration }
	names := []string{"direct", "tini", "dumb-init", "zkfence"}
	got := map[string][]sample{}
	var rtts []int
	for i := 0; i < e.trials; i++ {
		for k := range names {
			name := names[(i+k)%len(names)] // rotate who goes first
			stamp := filepath.Join(e.work, fmt.Sprintf("startup-%s-%d", name, i))
			childArgs := []string{child, "-start", stamp}
			var argv []string
			var rec *zkRecorder
			switch name {
			case "direct":
				argv = childArgs
			case "tini":
				argv = append([]string{"/usr/bin/tini", "-s", "--"}, childArgs...)
			case "dumb-init":
				argv = append([]string{"/usr/bin/dumb-init", "--"}, childArgs...)
			case "zkfence":
				if rec, err = newZKRecorder(e.zk.Addr()); err != nil {
					return nil, err
				}
				argv = append([]string{e.zkfence, "run", "--zk", rec.addr(), "--lock", fmt.Sprintf("/bench/startup-%d", i)}, fastFlags...)
				argv = append(append(argv, "--"), childArgs...)
			}
			cmd := exec.Command(argv[0], argv[1:]...)
			t0 := time.Now()
			p, err := startProc(cmd)
			if err != nil {
				return nil, err
			}
			at, _, err := readStamp(stamp, 20*time.Second)
			if !p.wait(20 * time.Second) {
				err = fmt.Errorf("%s did not exit after its child did", name)
			}
			s := sample{total: at.Sub(t0)}
			if rec != nil {
				rec.close()
				zk, n, first, last, ok := rec.critical()
				s.zk, s.pre, s.post = zk, first.Sub(t0), at.Sub(last)
				s.between = last.Sub(first) - zk
				if !ok && err == nil {
					err = fmt.Errorf("zkfence start-up: no plain Exists seen at the recording proxy")
				}
				rtts = append(rtts, n)
			}
			if err != nil {
				return nil, err
			}
			got[name] = append(got[name], s)
		}
	}
	totals := func(name string, own bool) []time.Duration {
		var ds []time.Duration
		for _, s := range got[name] {
			if own {
				ds = append(ds, s.total-s.zk)
			} else {
				ds = append(ds, s.total)
			}
		}
		return ds
	}
	base := median(totals("direct", false))
	added := func(name string, own bool) string { return ms(median(totals(name, own)) - base) }
	var zks, pre, between, post []time.Duration
	for _, s := range got["zkfence"] {
		zks, pre, between, post = append(zks, s.zk), append(pre, s.pre), append(between, s.between), append(post, s.post)
	}
	cond := fmt.Sprintf("%d trials each, rotating; same child; baseline (bench execs the child directly) %s subtracted", e.trials, ms(base))
	return []row{
		{"start-up added, tini (exec -> child's main), median", added("tini", false), "(peer)",
			fmt.Sprintf("total %s; %s", ms(median(totals("tini", false))), cond)},
		{"start-up added, dumb-init, median", added("dumb-init", false), "(peer)",
			fmt.Sprintf("total %s", ms(median(totals("dumb-init", false))))},
		{"start-up added, zkfence, excluding ZooKeeper round trips, median", added("zkfence", true), "(no stated goal; next to tini/dumb-init)",
			fmt.Sprintf("including them %s (total %s); the %d round trips on the critical path (connect, create per lock path level, create ephemeral-sequential, getChildren, exists) took median %s on loopback, timed at a recording proxy; zkfence's own part, medians: exec -> first request %s, between round trips %s, last reply -> child's main %s (this one includes the baseline's fork+exec and the child's start)",
				added("zkfence", false), ms(median(totals("zkfence", false))), medianInt(rtts), ms(median(zks)), ms(median(pre)), ms(median(between)), ms(median(post)))},
	}, nil
}

func medianInt(xs []int) int {
	ds := make([]time.Duration, len(xs))
	for i, x := range xs {
		ds[i] = time.Duration(x)
	}
	return int(median(ds))
}

// zkRecorder is a TCP proxy to one ZooKeeper server that times requests.
type zkRecorder struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu    sync.Mutex
	reqs  []*zkReq // in the order they were sent
	conns []net.Conn
}

type zkReq struct {
	op            int32 // opcode; connectOp for the handshake
	watch         bool  // an Exists or GetData that sets a watch
	sent, replied time.Time
}

const (
	connectOp = -1000 // not a ZooKeeper opcode: the handshake
	opExists  = 3
	opPing    = 11
)

func newZKRecorder(target string) (*zkRecorder, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &zkRecorder{ln: ln, target: target}
	r.wg.Add(1)
	go r.accept()
	return r, nil
}

func (r *zkRecorder) addr() string { return r.ln.Addr().String() }

func (r *zkRecorder) accept() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", r.target)
		if err != nil {
			c.Close()
			continue
		}
		r.mu.Lock()
		r.conns = append(r.conns, c, s)
		r.mu.Unlock()
		byXid := map[int32]*zkReq{}
		var mu sync.Mutex
		r.wg.Add(2)
		go func() { // client -> server
			defer r.wg.Done()
			defer s.Close()
			first := true
			r.frames(c, s, func(body []byte, at time.Time) {
				q := &zkReq{op: connectOp, sent: at}
				xid := int32(connectOp)
				if !first && len(body) >= 8 {
					xid = int32(binary.BigEndian.Uint32(body[0:4]))
					q.op = int32(binary.BigEndian.Uint32(body[4:8]))
					if q.op == opExists && len(body) >= 12 {
						n := int(binary.BigEndian.Uint32(body[8:12]))
						if 12+n < len(body) {
							q.watch = body[12+n] != 0
						}
					}
				}
				first = false
				mu.Lock()
				byXid[xid] = q
				mu.Unlock()
				r.mu.Lock()
				r.reqs = append(r.reqs, q)
				r.mu.Unlock()
			})
		}()
		go func() { // server -> client
			defer r.wg.Done()
			defer c.Close()
			first := true
			r.frames(s, c, func(body []byte, at time.Time) {
				xid := int32(connectOp)
				if !first && len(body) >= 4 {
					xid = int32(binary.BigEndian.Uint32(body[0:4]))
				}
				first = false
				mu.Lock()
				q := byXid[xid]
				delete(byXid, xid)
				mu.Unlock()
				if q != nil {
					r.mu.Lock()
					q.replied = at
					r.mu.Unlock()
				}
			})
		}()
	}
}

// frames copies length-prefixed ZooKeeper frames from src to dst, calling
// seen with each whole frame's body before forwarding it.
func (r *zkRecorder) frames(src, dst net.Conn, seen func([]byte, time.Time)) {
	br := bufio.NewReaderSize(src, 64<<10)
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n > 16<<20 {
			return
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(br, body); err != nil {
			return
		}
		seen(body, time.Now())
		if _, err := dst.Write(append(hdr[:], body...)); err != nil {
			return
		}
	}
}

func (r *zkRecorder) close() {
	r.ln.Close()
	r.mu.Lock()
	for _, c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// critical sums the round trips of the requests up to and including the
// first plain Exists, and counts them; first is when the first request
// arrived, last when the last reply did. ok is false if there was none.
func (r *zkRecorder) critical() (sum time.Duration, n int, first, last time.Time, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, q := range r.reqs {
		if q.op == opPing {
			continue
		}
		if q.replied.IsZero() {
			return sum, n, first, last, false
		}
		if first.IsZero() {
			first = q.sent
		}
		last = q.replied
		sum += q.replied.Sub(q.sent)
		n++
		if q.op == opExists && !q.watch {
			return sum, n, first, last, true
		}
	}
	return sum, n, first, last, false
}
