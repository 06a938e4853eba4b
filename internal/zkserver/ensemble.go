package zkserver

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Ensemble is an n-member ZooKeeper ensemble on 127.0.0.1. Member i (0
// based, as in Servers) has myid i+1. Members reach each other only through
// proxies the Ensemble controls (see IsolatePeer); clients reach them
// directly. Its methods are safe for concurrent use.
type Ensemble struct {
	opts    Options
	dir     string
	servers []*Server
	links   []*link

	mu       sync.Mutex
	isolated map[int]bool
	closed   bool
}

// StartEnsemble starts an n-member ensemble (n >= 2; 3 is usual) and
// returns once every member serves and exactly one is the leader. It fails
// the test if that does not happen within opts.StartTimeout. A cleanup
// kills every member and closes the proxies, after logging the members'
// log tails if the test failed.
func StartEnsemble(t testing.TB, n int, opts Options) *Ensemble {
	t.Helper()
	e, err := startEnsemble(n, opts)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, s := range e.servers {
				t.Logf("%s", s.failureReport())
			}
		}
		if err := e.destroy(); err != nil {
			t.Logf("zkserver: cleanup: %v", err)
		}
	})
	return e
}

// StartEnsembleMain is StartEnsemble for TestMain: it returns the ensemble
// and an idempotent stop function that kills it and removes its files.
func StartEnsembleMain(n int, opts Options) (*Ensemble, func(), error) {
	e, err := startEnsemble(n, opts)
	if err != nil {
		return nil, func() {}, err
	}
	return e, func() { _ = e.destroy() }, nil
}

func startEnsemble(n int, opts Options) (*Ensemble, error) {
	if n < 2 {
		return nil, fmt.Errorf("zkserver: an ensemble needs at least 2 members, not %d", n)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	in, err := findInstall()
	if err != nil {
		return nil, err
	}
	return withFreshPorts(func() (*Ensemble, error) { return tryEnsemble(n, opts, in) })
}

func tryEnsemble(n int, opts Options, in install) (_ *Ensemble, err error) {
	dir, err := os.MkdirTemp("", "zkensemble-")
	if err != nil {
		return nil, fmt.Errorf("zkserver: creating temp dir: %w", err)
	}
	e := &Ensemble{opts: opts, dir: dir, isolated: make(map[int]bool)}
	defer func() {
		if err != nil {
			e.destroy()
		}
	}()

	// Real ports: client, quorum, election for each member.
	ports, err := freePorts(3 * n)
	if err != nil {
		return nil, err
	}
	client := func(i int) int { return ports[3*i] }
	quorum := func(i int) int { return ports[3*i+1] }
	election := func(i int) int { return ports[3*i+2] }

	links := make(map[[2]int]*link)
	for i := range n {
		for j := range n {
			if i == j {
				continue
			}
			l, err := newLink(i, j, quorum(j), election(j), time.Duration(opts.InitLimit)*opts.TickTime)
			if err != nil {
				return nil, err
			}
			e.links = append(e.links, l)
			links[[2]int{i, j}] = l
		}
	}

	for i := range n {
		peers := make([]peerAddrs, n)
		for j := range n {
			if i == j {
				peers[j] = peerAddrs{id: j + 1, quorumPort: quorum(j), electionPort: election(j)}
				continue
			}
			l := links[[2]int{i, j}]
			peers[j] = peerAddrs{id: j + 1, quorumPort: l.quorum.Port(), electionPort: l.election.Port()}
		}
		files := newServerFiles(filepath.Join(dir, fmt.Sprintf("zk%d", i+1)))
		if err := files.write(renderConfig(opts, files.dataDir, client(i), peers), i+1); err != nil {
			return nil, err
		}
		e.servers = append(e.servers, &Server{id: i + 1, opts: opts, in: in, files: files, clientPort: client(i)})
	}
	for _, s := range e.servers {
		if err := s.Launch(); err != nil {
			return nil, err
		}
	}
	if err := e.WaitServing(opts.StartTimeout); err != nil {
		var tails strings.Builder
		for _, s := range e.servers {
			tails.WriteString(s.LogTail(20))
		}
		return nil, fmt.Errorf("%w\n%s", err, tails.String())
	}
	return e, nil
}

// Servers returns the members; Servers()[i] has myid i+1.
func (e *Ensemble) Servers() []*Server { return append([]*Server(nil), e.servers...) }

// Addrs returns the members' client addresses, in Servers order.
func (e *Ensemble) Addrs() []string {
	out := make([]string, len(e.servers))
	for i, s := range e.servers {
		out[i] = s.Addr()
	}
	return out
}

// ConnString is the client connection string: "127.0.0.1:p1,127.0.0.1:p2,...".
func (e *Ensemble) ConnString() string { return strings.Join(e.Addrs(), ",") }

// Options returns the options the members run with, defaults filled in.
func (e *Ensemble) Options() Options { return e.opts }

// Index is s's index in Servers, or -1.
func (e *Ensemble) Index(s *Server) int {
	for i, m := range e.servers {
		if m == s {
			return i
		}
	}
	return -1
}

// Leader returns the member whose srvr says "Mode: leader". It is an error
// if none or more than one does (an isolated leader can still believe it
// leads for up to syncLimit x tickTime).
func (e *Ensemble) Leader() (*Server, error) {
	leaders, _ := e.byMode()
	switch len(leaders) {
	case 0:
		return nil, errors.New("zkserver: no member is leader")
	case 1:
		return leaders[0], nil
	default:
		ids := make([]string, len(leaders))
		for i, s := range leaders {
			ids[i] = fmt.Sprint(s.ID())
		}
		return nil, fmt.Errorf("zkserver: members %s all claim to lead", strings.Join(ids, ", "))
	}
}

// Followers returns the members whose srvr says "Mode: follower" now.
func (e *Ensemble) Followers() []*Server {
	_, followers := e.byMode()
	return followers
}

// byMode asks every running member for its mode, concurrently (a frozen
// member takes a few seconds to time out).
func (e *Ensemble) byMode() (leaders, followers []*Server) {
	modes := make([]string, len(e.servers))
	var wg sync.WaitGroup
	for i, s := range e.servers {
		if !s.Running() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if st, err := s.status(2 * time.Second); err == nil && st.Serving {
				modes[i] = st.Mode
			}
		}()
	}
	wg.Wait()
	for i, m := range modes {
		switch m {
		case "leader":
			leaders = append(leaders, e.servers[i])
		case "follower":
			followers = append(followers, e.servers[i])
		}
	}
	return leaders, followers
}

// WaitForLeader waits until exactly one member leads and a majority of the
// ensemble serves, and returns the leader.
func (e *Ensemble) WaitForLeader(timeout time.Duration) (*Server, error) {
	deadline := time.Now().Add(timeout)
	for {
		leaders, followers := e.byMode()
		if len(leaders) == 1 && 2*(1+len(followers)) > len(e.servers) {
			return leaders[0], nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("zkserver: no leader with a quorum after %v (%d leaders, %d followers)",
				timeout, len(leaders), len(followers))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// WaitServing waits until every running member serves and exactly one
// leads. It fails at once if a member's JVM exits by itself.
func (e *Ensemble) WaitServing(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		running := 0
		for _, s := range e.servers {
			p := s.current()
			if p == nil {
				continue
			}
			if p.exited() {
				err := fmt.Errorf("zkserver: %s exited (%s)", s.name(), p.exitStatus())
				if s.logMentionsBindFailure() {
					err = fmt.Errorf("%w: %w", errPortInUse, err)
				}
				return err
			}
			running++
		}
		leaders, followers := e.byMode()
		if running > 0 && len(leaders) == 1 && len(leaders)+len(followers) == running {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("zkserver: ensemble not serving after %v (%d running, %d leaders, %d followers)",
				timeout, running, len(leaders), len(followers))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// IsolatePeer partitions member i (index in Servers) from every other
// member: all quorum and election traffic to and from it is blackholed, on
// existing and new connections, while clients can still reach it. A
// follower keeps answering its clients until it notices (up to syncLimit x
// tickTime after the cut), then drops out of the quorum and stops serving;
// an isolated leader steps down likewise and the others elect a new one.
func (e *Ensemble) IsolatePeer(i int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if i < 0 || i >= len(e.servers) {
		return fmt.Errorf("zkserver: IsolatePeer(%d): no such member", i)
	}
	e.isolated[i] = true
	for _, l := range e.links {
		if l.from == i || l.to == i {
			l.blackhole()
		}
	}
	return nil
}

// HealPeer ends member i's partition: its links to members that are not
// isolated themselves forward again, delivering what was held. The member
// rejoins by itself, within its next leader-election round (ZooKeeper backs
// these off, up to tens of seconds after a long isolation).
func (e *Ensemble) HealPeer(i int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if i < 0 || i >= len(e.servers) {
		return fmt.Errorf("zkserver: HealPeer(%d): no such member", i)
	}
	delete(e.isolated, i)
	for _, l := range e.links {
		if (l.from == i || l.to == i) && !e.isolated[l.from] && !e.isolated[l.to] {
			l.restore()
		}
	}
	return nil
}

// destroy kills every member, closes the proxies and removes the files
// (kept when ZKSERVER_KEEP is set). It is idempotent.
func (e *Ensemble) destroy() error {
	e.mu.Lock()
	already := e.closed
	e.closed = true
	e.mu.Unlock()
	if already {
		return nil
	}
	var errs []error
	for _, s := range e.servers {
		errs = append(errs, s.destroy())
	}
	for _, l := range e.links {
		l.close()
	}
	if os.Getenv("ZKSERVER_KEEP") == "" {
		if err := os.RemoveAll(e.dir); err != nil {
			errs = append(errs, fmt.Errorf("zkserver: removing %s: %w", e.dir, err))
		}
	}
	return errors.Join(errs...)
}
