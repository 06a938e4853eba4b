package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/net/netutil"
)

// Limits of the health endpoint. It runs inside the fence: every descriptor
// it holds is one the fence record and the mount probes cannot have, and
// idle connections once exhausted them (issue 16). So connections are
// capped and timed out; connections beyond the cap wait in the kernel's
// accept queue, holding no descriptor of ours.
const (
	// MaxConnections: health checkers (the orchestrator, docker, a
	// Prometheus scrape, a human) need a handful at a time.
	MaxConnections = 32
	// ReadHeaderTimeout drops a client that connects and sends no request;
	// ReadTimeout bounds reading a whole request (the endpoints take no
	// body).
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 10 * time.Second
	// WriteTimeout bounds one response: a /metrics page is a few KiB.
	WriteTimeout = 10 * time.Second
	// IdleTimeout closes a kept-alive connection with no new request;
	// above the 15 s of common scrape and health check intervals would
	// only hold descriptors for clients that reconnect anyway.
	IdleTimeout = 15 * time.Second
)

// Server serves /healthz, /readyz and /metrics for a State.
type Server struct {
	http *http.Server
	ln   net.Listener
}

// Listen binds addr at once, so that a bad address is refused before the
// run starts, and serves in the background.
func Listen(addr string, s *State) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("health endpoint %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		snap := s.Snapshot()
		if s.Healthy() {
			fmt.Fprintf(w, "ok: %s, token %d, child pid %d\n", snap.State, snap.Token, snap.ChildPID)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not serving: %s", snap.State)
		if snap.State == Waiting {
			fmt.Fprintf(w, ", %d ahead", snap.Ahead)
		}
		if snap.Cause != "" {
			fmt.Fprintf(w, " (%s)", snap.Cause)
		}
		fmt.Fprintln(w)
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !s.Healthy() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(s.Snapshot())
	})
	mux.Handle("/metrics", promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}))
	srv := &Server{http: &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    16 << 10,
	}, ln: netutil.LimitListener(ln, MaxConnections)}
	go func() {
		if err := srv.http.Serve(srv.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the listener is gone; health checks will fail, which is what they should do
		}
	}()
	return srv, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops serving.
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s.http.Shutdown(ctx)
}
