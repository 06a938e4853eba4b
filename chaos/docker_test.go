//go:build chaos

package chaos

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ory/dockertest/v3"
	dc "github.com/ory/dockertest/v3/docker"
)

// ctr is one container the suite started. It is removed, with its anonymous
// volumes, when the test ends, whatever happened.
type ctr struct {
	pool *dockertest.Pool
	id   string
	name string
}

// create creates and starts a container. It does not use
// pool.RunWithOptions, which would replace the image's STOPSIGNAL with
// SIGWINCH (see examples/docker_test.go).
// The container is removed when root ends (the whole suite), so that a
// container made in one scenario's subtest can outlive it.
func create(t, root *testing.T, pool *dockertest.Pool, opts dc.CreateContainerOptions) *ctr {
	t.Helper()
	c, err := pool.Client.CreateContainer(opts)
	if err != nil {
		t.Fatalf("creating %s: %v", opts.Name, err)
	}
	cc := &ctr{pool: pool, id: c.ID, name: opts.Name}
	root.Cleanup(cc.remove)
	if err := pool.Client.StartContainer(c.ID, nil); err != nil {
		t.Fatalf("starting %s: %v", opts.Name, err)
	}
	return cc
}

func (c *ctr) remove() {
	_ = c.pool.Client.UnpauseContainer(c.id)
	_ = c.pool.Client.RemoveContainer(dc.RemoveContainerOptions{ID: c.id, Force: true, RemoveVolumes: true})
}

// exec runs cmd in the container as root and returns its exit code and
// output. It gives up after timeout (a command on a frozen FUSE mount may
// never return); the exit code is then -1.
func (c *ctr) exec(timeout time.Duration, cmd ...string) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ex, err := c.pool.Client.CreateExec(dc.CreateExecOptions{Container: c.id, Cmd: cmd, User: "root",
		AttachStdout: true, AttachStderr: true, Context: ctx})
	if err != nil {
		return -1, err.Error()
	}
	var out bytes.Buffer
	if err := c.pool.Client.StartExec(ex.ID, dc.StartExecOptions{OutputStream: &out, ErrorStream: &out,
		Context: ctx}); err != nil {
		return -1, out.String() + err.Error()
	}
	in, err := c.pool.Client.InspectExec(ex.ID)
	if err != nil {
		return -1, err.Error()
	}
	return in.ExitCode, out.String()
}

// mustExec is exec that fails the test unless the command exits 0.
func (c *ctr) mustExec(t *testing.T, cmd ...string) string {
	t.Helper()
	code, out := c.exec(30*time.Second, cmd...)
	if code != 0 {
		t.Fatalf("%s: %s: exit %d: %s", c.name, strings.Join(cmd, " "), code, out)
	}
	return out
}

// state is the container's state: running, paused, exited...
func (c *ctr) state() (running, paused bool, exitCode int, err error) {
	in, err := c.pool.Client.InspectContainer(c.id)
	if err != nil {
		return false, false, 0, err
	}
	return in.State.Running, in.State.Paused, in.State.ExitCode, nil
}

// ip is the container's address on the network.
func (c *ctr) ip(network string) string {
	in, err := c.pool.Client.InspectContainer(c.id)
	if err != nil {
		return ""
	}
	for name, ep := range in.NetworkSettings.Networks {
		if name == network {
			return ep.IPAddress
		}
	}
	return ""
}

// logs is the container's output so far (its last lines when tail > 0).
func (c *ctr) logs(tail int) string {
	var out bytes.Buffer
	opts := dc.LogsOptions{Container: c.id, OutputStream: &out, ErrorStream: &out,
		Stdout: true, Stderr: true, InactivityTimeout: 5 * time.Second}
	if tail > 0 {
		opts.Tail = fmt.Sprint(tail)
	}
	if err := c.pool.Client.Logs(opts); err != nil {
		fmt.Fprintf(&out, "(logs: %v)", err)
	}
	return out.String()
}

// logsSince is the container's output since t (to the second).
func (c *ctr) logsSince(t time.Time) string {
	var out bytes.Buffer
	opts := dc.LogsOptions{Container: c.id, OutputStream: &out, ErrorStream: &out,
		Stdout: true, Stderr: true, InactivityTimeout: 5 * time.Second, Since: t.Unix()}
	if err := c.pool.Client.Logs(opts); err != nil {
		fmt.Fprintf(&out, "(logs: %v)", err)
	}
	return out.String()
}

// waitUntil polls cond every interval until it holds or timeout passes.
func waitUntil(timeout, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
	}
}

func (c *ctr) running() bool {
	r, _, _, err := c.state()
	return err == nil && r
}
