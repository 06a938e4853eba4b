package zkserver

import (
	"fmt"
	"net"
)

// FreePort returns a TCP port on 127.0.0.1 that was free when it was
// chosen. Another process may take it before the caller binds it; the
// harness's own starts retry with new ports when a server fails to bind.
func FreePort() (int, error) {
	ps, err := freePorts(1)
	if err != nil {
		return 0, err
	}
	return ps[0], nil
}

// freePorts returns n distinct free ports: all n are held at once while
// they are chosen, so they cannot collide with each other.
func freePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("zkserver: finding a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
