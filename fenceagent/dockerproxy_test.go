package fenceagent

import (
	"net/http"
	"testing"

	"github.com/zkfence/zkfence/internal/dockerproxy"
)

// startDockerProxy exposes the local Docker API to fence_docker on a
// loopback port (internal/dockerproxy), forwarding only what fencing
// container needs (list, inspect, kill, start of that container), so that a
// mistaken test cannot touch anyone else's containers.
func startDockerProxy(t *testing.T, container string) *dockerproxy.Proxy {
	t.Helper()
	p, err := dockerproxy.Start(dockerproxy.Config{Listen: "127.0.0.1:0", Dir: t.TempDir(),
		Allow: func(r dockerproxy.Request) bool {
			return r.ID == container || (r.ID == "" && r.Method == http.MethodGet)
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}
