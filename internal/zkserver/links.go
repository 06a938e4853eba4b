package zkserver

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// How an ensemble's members reach each other.
//
// Every member binds its real quorum and election ports, and its own
// server.N line names them. For every other member j, member i's zoo.cfg
// names two proxies of the link i->j instead: one to j's quorum port, one
// to j's election port. All traffic between members thus crosses proxies,
// one pair per ordered link, and IsolatePeer blackholes every link that
// touches a member. Clients connect straight to the members' client ports.
//
// Two ZooKeeper 3.8 behaviours would let election traffic bypass the
// proxies; both are handled here:
//
//   - A member that receives an election connection from a member with a
//     smaller id drops it and connects back to the address the caller
//     advertised in its initial message (its real election port). The
//     election proxies therefore rewrite that initial message to the old
//     protocol, which carries only the id: the receiver then connects back
//     through its own zoo.cfg, that is through a proxy.
//   - When connecting to a peer fails, a member retries with the address
//     from the leader's configuration (which names the leader's proxies).
//     The proxies never refuse a connection while the harness runs (a
//     blackholed link accepts and stays silent), so that fallback is never
//     taken.
//
// The quorum port (follower to leader) needs no rewriting: a follower finds
// the leader's address in its own zoo.cfg.
//
// A proxy has accepted a connection before it knows whether the member
// behind it is listening, so it cannot pass a refusal on. A follower that
// is refused by a leader still setting up retries (five times, 100ms apart);
// one whose connection is accepted and then closed gives up and starts a
// new election, which cost seconds. So a link retries a refused dial for
// up to initLimit x tickTime, ZooKeeper's own bound for a learner's
// connection, before it resets the member's connection.

// link is the pair of proxies that carries member from's traffic to member
// to.
type link struct {
	from, to int // indexes into Ensemble.servers
	quorum   *Proxy
	election *Proxy
}

func newLink(from, to, quorumPort, electionPort int, dialRetry time.Duration) (*link, error) {
	q, err := listenProxy(loopback(quorumPort), nil, dialRetry)
	if err != nil {
		return nil, err
	}
	e, err := listenProxy(loopback(electionPort), rewriteElectionHeader, dialRetry)
	if err != nil {
		q.Close()
		return nil, err
	}
	return &link{from: from, to: to, quorum: q, election: e}, nil
}

func (l *link) blackhole() {
	l.quorum.Blackhole()
	l.election.Blackhole()
}

func (l *link) restore() {
	l.quorum.Restore()
	l.election.Restore()
}

func (l *link) close() {
	l.quorum.Close()
	l.election.Close()
}

// Election protocol constants of ZooKeeper's QuorumCnxManager: an initial
// message starts with a negative protocol version, then the sender's id,
// then the length and text of its election address(es).
const (
	maxElectionAddrLen = 4096
)

// rewriteElectionHeader reads the initial message of an election
// connection and returns it in the old protocol: the sender's id alone, so
// that the receiver connects back through its own configuration.
func rewriteElectionHeader(r io.Reader) ([]byte, error) {
	var first [8]byte
	if _, err := io.ReadFull(r, first[:]); err != nil {
		return nil, fmt.Errorf("zkserver: reading election header: %w", err)
	}
	if int64(binary.BigEndian.Uint64(first[:])) >= 0 {
		return first[:], nil // already the old protocol: the id
	}
	var sid [8]byte
	if _, err := io.ReadFull(r, sid[:]); err != nil {
		return nil, fmt.Errorf("zkserver: reading election header: %w", err)
	}
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, fmt.Errorf("zkserver: reading election header: %w", err)
	}
	size := int32(binary.BigEndian.Uint32(n[:]))
	if size <= 0 || size > maxElectionAddrLen {
		return nil, fmt.Errorf("zkserver: election header: unreasonable address length %d", size)
	}
	if _, err := io.CopyN(io.Discard, r, int64(size)); err != nil {
		return nil, fmt.Errorf("zkserver: reading election header: %w", err)
	}
	return sid[:], nil
}

func loopback(port int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}
