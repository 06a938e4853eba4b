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
	srv := &Server{http: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln: ln}
	go func() {
		if err := srv.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
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
