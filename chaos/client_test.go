//go:build chaos

package chaos

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/jackc/pgx/v5"
)

// The client (I6). One goroutine writes rows, one at a time, in autocommit,
// to whichever node serves: (trial, seq) with seq 1, 2, 3, ... and the
// token of the server that commits it, taken by the server itself
// (PostgreSQL: current_setting('zkfence.token'); MariaDB: @zkfence_token,
// see mariadb_test.go; both set from ZKFENCE_TOKEN when zkfence starts the
// server). A write is acknowledged when the INSERT ... RETURNING returns; an
// error or a timeout leaves it indeterminate: it may or may not have
// committed. What differs between the engines is behind dbConn.

const (
	writeEvery     = 10 * time.Millisecond
	connectTimeout = 500 * time.Millisecond
	writeTimeout   = time.Second // how long a write to a node that died hangs before the client tries the others
)

// dbConn is one client connection to a node's database.
type dbConn interface {
	// insert writes the row (trial, seq, the server's token) in autocommit,
	// one statement, and returns the id and the token it committed with.
	insert(ctx context.Context, trial string, seq int64) (id, token int64, err error)
	// rows is the trial's rows in id order.
	rows(ctx context.Context, trial string) ([]row, error)
	exec(ctx context.Context, stmt string) error
	close()
}

const pgCreateTable = `create table if not exists w (
	id bigserial primary key, trial text not null, seq bigint not null,
	token bigint not null, at timestamptz not null default clock_timestamp())`

const pgInsertRow = `insert into w (trial, seq, token)
	values ($1, $2, current_setting('zkfence.token')::bigint) returning id, token`

// pgConn is the PostgreSQL connection: pgx, user postgres (trust).
type pgConn struct{ c *pgx.Conn }

func connectPostgres(ctx context.Context, ip string, port int) (dbConn, error) {
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable", ip, port))
	if err != nil {
		return nil, err
	}
	cfg.ConnectTimeout = connectTimeout
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return pgConn{c}, nil
}

func (p pgConn) insert(ctx context.Context, trial string, seq int64) (id, token int64, err error) {
	err = p.c.QueryRow(ctx, pgInsertRow, trial, seq).Scan(&id, &token)
	return id, token, err
}

func (p pgConn) rows(ctx context.Context, trial string) ([]row, error) {
	r, err := p.c.Query(ctx, "select id, seq, token from w where trial = $1 order by id", trial)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(r, func(r pgx.CollectableRow) (row, error) {
		var x row
		return x, r.Scan(&x.id, &x.seq, &x.token)
	})
}

func (p pgConn) exec(ctx context.Context, stmt string) error {
	_, err := p.c.Exec(ctx, stmt)
	return err
}

func (p pgConn) close() { p.c.Close(context.Background()) }

type write struct {
	seq        int64
	node       string
	start, end time.Time
	acked      bool
	id, token  int64
	err        string
}

type client struct {
	s     *suite
	trial string
	stop  chan struct{}
	done  chan struct{}

	mu     sync.Mutex
	writes []write
}

func (s *suite) startClient(trial string) *client {
	c := &client{s: s, trial: trial, stop: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c
}

func (c *client) close() []write {
	close(c.stop)
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

// acked returns the acknowledged writes so far.
func (c *client) snapshot() []write {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]write(nil), c.writes...)
}

// connect opens a connection to n's database (its engine's client).
func (s *suite) connect(ctx context.Context, n *node) (dbConn, error) {
	return s.eng.connect(ctx, n.ip, s.eng.port)
}

// execOnHolder runs stmt on the holder's database, trying again until it
// succeeds or timeout passes: zkfence reports running as soon as it has
// started the server, before the server accepts connections (MariaDB takes
// a second or more to open InnoDB).
func (s *suite) execOnHolder(stmt string, timeout time.Duration) error {
	_, err := s.onHolder(timeout, func(ctx context.Context, conn dbConn) error { return conn.exec(ctx, stmt) })
	if err != nil {
		return fmt.Errorf("on the holder within %s: %v", timeout, err)
	}
	return nil
}

// onHolder calls fn with a connection to the holder's database until fn
// succeeds or timeout passes, and says which node answered.
func (s *suite) onHolder(timeout time.Duration, fn func(context.Context, dbConn) error) (string, error) {
	var from string
	var lastErr error
	ok := waitUntil(timeout, 200*time.Millisecond, func() bool {
		h, _ := s.holder()
		if h == nil {
			lastErr = errors.New("no node serves")
			return false
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := s.connect(ctx, h)
		if err != nil {
			lastErr = err
			return false
		}
		defer conn.close()
		if lastErr = fn(ctx, conn); lastErr != nil {
			return false
		}
		from = h.name
		return true
	})
	if !ok {
		return "", lastErr
	}
	return from, nil
}

// connectAny tries every node at once, again and again, and keeps the first
// connection that opens (the others are closed): a node that died costs the
// client nothing while another serves, and a database that just started is
// found within 20 ms, so the failover measured is the system's, not the
// client's order of trying. nil when none opened within connectTimeout.
func (c *client) connectAny() (dbConn, *node) {
	type opened struct {
		conn dbConn
		n    *node
	}
	nodes := c.s.nodeList()
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	results := make(chan opened, len(nodes))
	for _, n := range nodes {
		go func() {
			// A node that refuses (its database not up yet) is asked
			// again every 20 ms; one that does not answer (dead) holds
			// its attempt until connectTimeout.
			for {
				cn, err := c.s.connect(ctx, n)
				if err == nil {
					results <- opened{cn, n}
					return
				}
				select {
				case <-ctx.Done():
					results <- opened{nil, n}
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
	}
	for left := len(nodes); left > 0; left-- {
		r := <-results
		if r.conn == nil {
			continue
		}
		cancel() // the others give up at once; any that opened anyway is closed
		go func() {
			for range left - 1 {
				if late := <-results; late.conn != nil {
					late.conn.close()
				}
			}
		}()
		return r.conn, r.n
	}
	cancel()
	return nil, nil
}

func (c *client) loop() {
	defer close(c.done)
	var conn dbConn
	var cur *node
	defer func() {
		if conn != nil {
			conn.close()
		}
	}()
	for seq := int64(1); ; {
		select {
		case <-c.stop:
			return
		default:
		}
		if conn == nil {
			conn, cur = c.connectAny()
			if conn == nil {
				time.Sleep(50 * time.Millisecond)
				continue
			}
		}
		w := write{seq: seq, node: cur.name, start: time.Now()}
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		var err error
		w.id, w.token, err = conn.insert(ctx, c.trial, seq)
		cancel()
		w.end = time.Now()
		w.acked = err == nil
		if err != nil {
			w.err = err.Error()
		}
		c.mu.Lock()
		c.writes = append(c.writes, w)
		c.mu.Unlock()
		seq++
		if err != nil {
			conn.close()
			conn = nil
			continue
		}
		time.Sleep(writeEvery)
	}
}

// row is what the database has at the end.
type row struct{ id, seq, token int64 }

func (s *suite) readRows(trial string, timeout time.Duration) ([]row, string, error) {
	var rows []row
	from, err := s.onHolder(timeout, func(ctx context.Context, conn dbConn) (err error) {
		rows, err = conn.rows(ctx, trial)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("reading the rows: %v", err)
	}
	return rows, from, nil
}

// verdict is the client-side result of a trial.
type verdict struct {
	acked, indeterminate int
	lost                 int // acknowledged, then missing or changed
	phantom              int // rows no write asked for, or twice
	regressions          int // a token lower than the one before it, in id order
	linearizable         porcupine.CheckResult
	problems             []string
}

// check compares the writes with the rows the database has at the end.
func check(writes []write, rows []row) verdict {
	var v verdict
	byseq := map[int64]row{}
	for _, r := range rows {
		if _, dup := byseq[r.seq]; dup {
			v.phantom++
			v.problems = append(v.problems, fmt.Sprintf("seq %d is in the table twice", r.seq))
		}
		byseq[r.seq] = r
	}
	attempted := map[int64]bool{}
	for _, w := range writes {
		attempted[w.seq] = true
		if !w.acked {
			v.indeterminate++
			continue
		}
		v.acked++
		r, ok := byseq[w.seq]
		switch {
		case !ok:
			v.lost++
			v.problems = append(v.problems, fmt.Sprintf("acknowledged write seq %d (id %d, token %d, by %s) is missing",
				w.seq, w.id, w.token, w.node))
		case r.id != w.id || r.token != w.token:
			v.lost++
			v.problems = append(v.problems, fmt.Sprintf("acknowledged write seq %d was id %d token %d, the table has id %d token %d",
				w.seq, w.id, w.token, r.id, r.token))
		}
	}
	for _, r := range rows {
		if !attempted[r.seq] {
			v.phantom++
			v.problems = append(v.problems, fmt.Sprintf("row id %d seq %d was never written", r.id, r.seq))
		}
	}
	for i := 1; i < len(rows); i++ {
		if rows[i].token < rows[i-1].token {
			v.regressions++
			v.problems = append(v.problems, fmt.Sprintf("token goes back at id %d: %d after %d",
				rows[i].id, rows[i].token, rows[i-1].token))
		}
	}
	v.linearizable = linearizable(writes, rows)
	if v.linearizable != porcupine.Ok {
		v.problems = append(v.problems, "porcupine: the history is "+string(v.linearizable))
	}
	return v
}

// The porcupine model: an append-only table, the state being the set of
// rows (a count and an order-free hash of the seqs) and the highest token
// committed so far. A write's output is the token it committed with, which
// must not be below the highest one before it; the final read must see
// exactly the writes linearized before it. An indeterminate write that is
// in the final table took effect some time after it was sent (its return
// is at infinity, its token from the table); one that is not never took
// effect (rows are never deleted), and is left out.
type tableState struct {
	n      int
	hash   uint64
	maxTok int64
}

type opInput struct {
	read bool
	seq  int64
}

type readOutput struct {
	n    int
	hash uint64
}

func seqHash(seq int64) uint64 {
	x := uint64(seq) * 0x9e3779b97f4a7c15
	x ^= x >> 31
	return x * 0xbf58476d1ce4e5b9
}

var tableModel = porcupine.Model{
	Init: func() interface{} { return tableState{} },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		st, in := state.(tableState), input.(opInput)
		if in.read {
			out := output.(readOutput)
			return out.n == st.n && out.hash == st.hash, st
		}
		tok := output.(int64)
		if tok < st.maxTok {
			return false, st
		}
		return true, tableState{n: st.n + 1, hash: st.hash + seqHash(in.seq), maxTok: tok}
	},
	Equal: func(a, b interface{}) bool { return a.(tableState) == b.(tableState) },
	DescribeOperation: func(input, output interface{}) string {
		in := input.(opInput)
		if in.read {
			return fmt.Sprintf("read -> %d rows", output.(readOutput).n)
		}
		return fmt.Sprintf("write %d -> token %v", in.seq, output)
	},
}

func linearizable(writes []write, rows []row) porcupine.CheckResult {
	if len(writes) == 0 {
		return porcupine.Ok
	}
	t0 := writes[0].start
	ns := func(t time.Time) int64 { return int64(t.Sub(t0)) }
	byseq := map[int64]row{}
	var out readOutput
	for _, r := range rows {
		byseq[r.seq] = r
		out.n++
		out.hash += seqHash(r.seq)
	}
	var ops []porcupine.Operation
	var last time.Time
	for _, w := range writes {
		if w.end.After(last) {
			last = w.end
		}
		if w.acked {
			ops = append(ops, porcupine.Operation{Input: opInput{seq: w.seq}, Call: ns(w.start), Output: w.token, Return: ns(w.end)})
			continue
		}
		if r, ok := byseq[w.seq]; ok {
			ops = append(ops, porcupine.Operation{Input: opInput{seq: w.seq}, Call: ns(w.start), Output: r.token, Return: math.MaxInt64 - 1})
		}
	}
	ops = append(ops, porcupine.Operation{ClientId: 1, Input: opInput{read: true}, Call: ns(last) + 1, Output: out,
		Return: ns(last) + 2})
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].Call < ops[j].Call })
	return porcupine.CheckOperationsTimeout(tableModel, ops, 30*time.Second)
}
