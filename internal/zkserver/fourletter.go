package zkserver

import (
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// fourLetterTimeout bounds one four-letter-word exchange made by the
// methods below. A frozen server accepts the TCP connection (the kernel
// does) but never answers, so every exchange needs a deadline.
const fourLetterTimeout = 5 * time.Second

// FourLetter sends a four-letter-word command ("srvr", "mntr", "stat",
// "cons", "wchc", "ruok", ...) to the ZooKeeper at addr and returns its
// whole reply. The harness's servers whitelist all commands.
func FourLetter(addr, cmd string, timeout time.Duration) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", fmt.Errorf("zkserver: %s %s: %w", cmd, addr, err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return "", fmt.Errorf("zkserver: %s %s: %w", cmd, addr, err)
	}
	if _, err := io.WriteString(conn, cmd); err != nil {
		return "", fmt.Errorf("zkserver: %s %s: %w", cmd, addr, err)
	}
	reply, err := io.ReadAll(conn)
	if err != nil {
		return string(reply), fmt.Errorf("zkserver: %s %s: %w", cmd, addr, err)
	}
	return string(reply), nil
}

// FourLetter sends a four-letter-word command to this server (5s timeout).
func (s *Server) FourLetter(cmd string) (string, error) {
	return FourLetter(s.Addr(), cmd, fourLetterTimeout)
}

// notServing is ZooKeeper's reply to srvr/stat while it has no quorum or is
// still starting.
const notServing = "not currently serving requests"

// srvrStatus is what srvr says about a server.
type srvrStatus struct {
	Serving bool
	Mode    string // standalone, leader, follower, observer
	Zxid    int64
}

func (s *Server) status(timeout time.Duration) (srvrStatus, error) {
	reply, err := FourLetter(s.Addr(), "srvr", timeout)
	if err != nil {
		return srvrStatus{}, err
	}
	return parseSrvr(reply), nil
}

func parseSrvr(reply string) srvrStatus {
	var st srvrStatus
	if strings.Contains(reply, notServing) {
		return st
	}
	for _, line := range strings.Split(reply, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "Mode":
			st.Mode, st.Serving = v, v != ""
		case "Zxid":
			st.Zxid, _ = strconv.ParseInt(v, 0, 64)
		}
	}
	return st
}

// Session is one client connection as the server's cons command shows it.
type Session struct {
	ID      int64         // session ID (go-zookeeper's Conn.SessionID)
	Timeout time.Duration // the negotiated session timeout
	Client  string        // the client's address as the server sees it
}

var (
	consClient  = regexp.MustCompile(`^\s*/([^\[]+)\[`)
	consSID     = regexp.MustCompile(`[(,]sid=(0x[0-9a-fA-F]+)`)
	consTimeout = regexp.MustCompile(`[(,]to=(\d+)`)
)

// Sessions lists the sessions connected to this server (from cons). The
// connection that carries the cons command itself has no session and is
// left out.
func (s *Server) Sessions() ([]Session, error) {
	reply, err := s.FourLetter("cons")
	if err != nil {
		return nil, err
	}
	return parseCons(reply)
}

func parseCons(reply string) ([]Session, error) {
	var out []Session
	for _, line := range strings.Split(reply, "\n") {
		sid := consSID.FindStringSubmatch(line)
		to := consTimeout.FindStringSubmatch(line)
		if sid == nil || to == nil {
			continue
		}
		id, err := strconv.ParseUint(sid[1], 0, 64)
		if err != nil {
			return nil, fmt.Errorf("zkserver: parsing cons line %q: %w", line, err)
		}
		ms, err := strconv.ParseInt(to[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("zkserver: parsing cons line %q: %w", line, err)
		}
		se := Session{ID: int64(id), Timeout: time.Duration(ms) * time.Millisecond}
		if m := consClient.FindStringSubmatch(line); m != nil {
			se.Client = m[1]
		}
		out = append(out, se)
	}
	return out, nil
}

// SessionTimeout is the timeout the server negotiated for the session with
// the given ID, which must be connected to this server.
func (s *Server) SessionTimeout(sessionID int64) (time.Duration, error) {
	ss, err := s.Sessions()
	if err != nil {
		return 0, err
	}
	for _, se := range ss {
		if se.ID == sessionID {
			return se.Timeout, nil
		}
	}
	return 0, fmt.Errorf("zkserver: session 0x%x not connected to %s", sessionID, s.Addr())
}
