package zkserver

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// ensembleOptions is a fast profile: a member drops out of the quorum
// syncLimit x tickTime = 1s after it is cut off.
var ensembleOptions = Options{TickTime: 200 * time.Millisecond, SyncLimit: 5, InitLimit: 10}

func TestEnsembleLeaderKillRestart(t *testing.T) {
	t.Parallel()
	start := time.Now()
	e := StartEnsemble(t, 3, ensembleOptions)
	t.Logf("3-member ensemble serving after %v: %s", time.Since(start).Round(time.Millisecond), e.ConnString())

	leader, err := e.Leader()
	must(t, err)
	if f := e.Followers(); len(f) != 2 {
		t.Fatalf("%d followers, want 2", len(f))
	}
	c := connect(t, e.ConnString(), 4*time.Second)
	if _, err := c.Create("/ensemble", []byte("v1"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}

	killed := time.Now()
	must(t, leader.Kill())
	next, err := e.WaitForLeader(30 * time.Second)
	must(t, err)
	if next == leader {
		t.Fatal("the killed member still leads")
	}
	t.Logf("leader %d killed; member %d leads after %v", leader.ID(), next.ID(), time.Since(killed).Round(time.Millisecond))
	eventually(t, 30*time.Second, "Get after the leader's death", func() error {
		_, _, err := c.Get("/ensemble")
		return err
	})

	must(t, leader.Restart())
	if mode, err := leader.Mode(); err != nil || mode != "follower" {
		t.Fatalf("restarted member: Mode = %q, %v; want follower", mode, err)
	}
	must(t, e.WaitServing(30*time.Second))
	direct := connect(t, leader.Addr(), 4*time.Second)
	if _, err := direct.Sync("/ensemble"); err != nil {
		t.Fatal(err)
	}
	if data, _, err := direct.Get("/ensemble"); err != nil || string(data) != "v1" {
		t.Fatalf("Get from the restarted member = %q, %v", data, err)
	}

	// Losing the quorum: with two members dead the third stops serving;
	// Launch (which does not wait) brings them back and WaitServing waits
	// for the whole ensemble.
	survivor := e.Servers()[0]
	for _, s := range e.Servers()[1:] {
		must(t, s.Kill())
	}
	eventually(t, 20*time.Second, "the last member stops serving", stoppedServing(survivor))
	for _, s := range e.Servers()[1:] {
		must(t, s.Launch())
	}
	must(t, e.WaitServing(60*time.Second))
	if _, err := e.Leader(); err != nil {
		t.Fatal(err)
	}
}

func TestEnsembleIsolatePeer(t *testing.T) {
	t.Parallel()
	e := StartEnsemble(t, 3, ensembleOptions)
	leader, err := e.Leader()
	must(t, err)
	c := connect(t, leader.Addr(), 4*time.Second)

	// An isolated follower stops serving once it notices, while the rest
	// keeps a quorum; healed, it rejoins and catches up.
	f := e.Followers()[0]
	fi := e.Index(f)
	cut := time.Now()
	must(t, e.IsolatePeer(fi))
	eventually(t, 20*time.Second, "isolated follower stops serving", stoppedServing(f))
	t.Logf("isolated follower %d stopped serving after %v (syncLimit x tickTime = %v)",
		f.ID(), time.Since(cut).Round(time.Millisecond), time.Duration(e.Options().SyncLimit)*e.Options().TickTime)
	if l, err := e.WaitForLeader(10 * time.Second); err != nil || l != leader {
		t.Fatalf("leader after isolating a follower: %v, %v; want member %d", l, err, leader.ID())
	}
	if _, err := c.Create("/while-isolated", []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	healed := time.Now()
	must(t, e.HealPeer(fi))
	eventually(t, 60*time.Second, "healed follower rejoins", isMode(f, "follower"))
	t.Logf("healed follower %d serving again after %v", f.ID(), time.Since(healed).Round(time.Millisecond))
	direct := connect(t, f.Addr(), 4*time.Second)
	if _, err := direct.Sync("/while-isolated"); err != nil {
		t.Fatal(err)
	}
	if ok, _, err := direct.Exists("/while-isolated"); err != nil || !ok {
		t.Fatalf("healed follower does not see a write made while it was isolated: %v, %v", ok, err)
	}

	// An isolated leader steps down and the two others elect a new one.
	cut = time.Now()
	li := e.Index(leader)
	must(t, e.IsolatePeer(li))
	eventually(t, 30*time.Second, "a new leader", func() error {
		l, err := e.Leader()
		if err != nil {
			return err
		}
		if l == leader {
			return errors.New("the isolated member still leads")
		}
		return nil
	})
	eventually(t, 20*time.Second, "isolated leader stops serving", stoppedServing(leader))
	t.Logf("isolated leader %d replaced after %v", leader.ID(), time.Since(cut).Round(time.Millisecond))
	healed = time.Now()
	must(t, e.HealPeer(li))
	eventually(t, 60*time.Second, "old leader rejoins as follower", isMode(leader, "follower"))
	t.Logf("old leader %d following after %v", leader.ID(), time.Since(healed).Round(time.Millisecond))
	must(t, e.WaitServing(30*time.Second))

	// After all this, members still talk to each other only through the
	// proxies: no connection joins two members directly.
	bypass, err := directPeerConnections(e)
	must(t, err)
	if len(bypass) > 0 {
		t.Fatalf("connections bypass the proxies: %v", bypass)
	}
}

// directPeerConnections lists established TCP connections whose two ends
// both belong to members' JVMs (from /proc: the JVMs' socket inodes, and
// /proc/net/tcp{,6}). Connections through the harness's proxies have the
// test binary at one end and are not listed.
func directPeerConnections(e *Ensemble) ([]string, error) {
	owner := map[string]int{} // socket inode -> member id
	for _, s := range e.Servers() {
		fdDir := fmt.Sprintf("/proc/%d/fd", s.Pid())
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			return nil, err
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			if err == nil && strings.HasPrefix(link, "socket:[") {
				owner[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = s.ID()
			}
		}
	}
	type conn struct {
		member              int
		localPort, peerPort string
	}
	var conns []conn
	portOwner := map[string]int{} // local port (hex) -> member id
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) < 10 || fs[3] != "01" { // 01: ESTABLISHED
				continue
			}
			id, ok := owner[fs[9]]
			if !ok {
				continue
			}
			_, lp, _ := strings.Cut(fs[1], ":")
			_, pp, _ := strings.Cut(fs[2], ":")
			portOwner[lp] = id
			conns = append(conns, conn{id, lp, pp})
		}
	}
	if len(conns) == 0 {
		return nil, errors.New("no established connection found for the members: cannot check")
	}
	var direct []string
	for _, c := range conns {
		if peer, ok := portOwner[c.peerPort]; ok {
			direct = append(direct, fmt.Sprintf("member %d port 0x%s <-> member %d port 0x%s", c.member, c.localPort, peer, c.peerPort))
		}
	}
	return direct, nil
}

func stoppedServing(s *Server) func() error {
	return func() error {
		if s.Serving() {
			return fmt.Errorf("member %d still serves", s.ID())
		}
		return nil
	}
}

func isMode(s *Server, want string) func() error {
	return func() error {
		mode, err := s.Mode()
		if err != nil {
			return err
		}
		if mode != want {
			return fmt.Errorf("member %d is %s, want %s", s.ID(), mode, want)
		}
		return nil
	}
}
