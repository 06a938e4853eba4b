package examples

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ory/dockertest/v3"
	dc "github.com/ory/dockertest/v3/docker"

	"github.com/zkfence/zkfence/internal/images"
)

// imageBuildTimeout bounds building the whole image set on a cold machine
// (a debootstrap, then five docker builds): about 7 minutes measured on two
// busy cores.
const imageBuildTimeout = 20 * time.Minute

var (
	imagesOnce sync.Once
	imageSet   images.Set
	imagesErr  error
)

// testImages returns the local image set, building what is missing once for
// every test of the package.
func testImages(t *testing.T) images.Set {
	t.Helper()
	if testing.Short() {
		t.Skip("container tests build images and run databases: not with -short")
	}
	imagesOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), imageBuildTimeout)
		defer cancel()
		t0 := time.Now()
		imageSet, imagesErr = images.EnsureSet(ctx, "..", t.Logf)
		if imagesErr != nil {
			return
		}
		t.Logf("images ready in %s:", time.Since(t0).Round(100*time.Millisecond))
		for _, tag := range []string{imageSet.Base, imageSet.Golang, imageSet.ZooKeeper, imageSet.Postgres, imageSet.MariaDB} {
			size, _ := images.Size(ctx, tag)
			t.Logf("  %-45s %5d MB", tag, size>>20)
		}
	})
	if imagesErr != nil {
		t.Fatalf("building the images: %v", imagesErr)
	}
	return imageSet
}

// newPool connects to the Docker engine.
func newPool(t *testing.T) *dockertest.Pool {
	t.Helper()
	pool, err := dockertest.NewPool("")
	if err != nil {
		t.Fatalf("docker: %v", err)
	}
	if err := pool.Client.Ping(); err != nil {
		t.Fatalf("docker engine: %v", err)
	}
	return pool
}

// uniq is a short random suffix for names of containers, networks and
// volumes: zkfence-<what>-<uniq>.
func uniq() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func splitTag(tag string) (repo, version string) {
	i := strings.LastIndex(tag, ":")
	return tag[:i], tag[i+1:]
}

// container is one container this test started; it is removed, with its
// anonymous volumes, when the test ends.
type container struct {
	pool *dockertest.Pool
	id   string
	name string
}

// runContainer creates and starts a container from a local image.
//
// It does not use pool.RunWithOptions: that sets the container's StopSignal
// to SIGWINCH, which overrides the image's STOPSIGNAL, so `docker stop`
// would send zkfence SIGWINCH (forwarded, ignored by the database) and
// SIGKILL after the timeout: exactly the unclean stop this test must not
// cause. Everything else is what RunWithOptions does.
func runContainer(t *testing.T, pool *dockertest.Pool, network *dockertest.Network, name, image string, env, binds, capAdd []string) *container {
	t.Helper()
	c, err := pool.Client.CreateContainer(dc.CreateContainerOptions{
		Name:       name,
		Config:     &dc.Config{Hostname: name, Image: image, Env: env},
		HostConfig: &dc.HostConfig{Binds: binds, CapAdd: capAdd},
		NetworkingConfig: &dc.NetworkingConfig{EndpointsConfig: map[string]*dc.EndpointConfig{
			network.Network.ID: {Aliases: []string{name}},
		}},
	})
	if err != nil {
		t.Fatalf("creating %s from %s: %v", name, image, err)
	}
	ctr := &container{pool: pool, id: c.ID, name: name}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- log of %s:\n%s", name, ctr.logs(t))
		}
		pool.Client.RemoveContainer(dc.RemoveContainerOptions{ID: c.ID, Force: true, RemoveVolumes: true})
	})
	if err := pool.Client.StartContainer(c.ID, nil); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	return ctr
}

// newNetwork creates a network removed when the test ends.
func newNetwork(t *testing.T, pool *dockertest.Pool, name string) *dockertest.Network {
	t.Helper()
	n, err := pool.CreateNetwork(name)
	if err != nil {
		t.Fatalf("network %s: %v", name, err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// namedVolume returns a volume name, and removes the volume when the test
// ends (after the containers: cleanups run last-registered first).
func namedVolume(t *testing.T, pool *dockertest.Pool, name string) string {
	t.Cleanup(func() { pool.Client.RemoveVolumeWithOptions(dc.RemoveVolumeOptions{Name: name, Force: true}) })
	return name
}

// startZooKeeper runs a standalone ZooKeeper from the local stand-in for the
// official image, reachable as name:2181 on network.
func startZooKeeper(t *testing.T, pool *dockertest.Pool, network *dockertest.Network, name, image string) {
	t.Helper()
	repo, tag := splitTag(image)
	r, err := pool.RunWithOptions(&dockertest.RunOptions{Name: name, Hostname: name, Repository: repo, Tag: tag,
		Networks: []*dockertest.Network{network}}, func(hc *dc.HostConfig) { hc.PublishAllPorts = false })
	if err != nil {
		t.Fatalf("zookeeper: %v", err)
	}
	t.Cleanup(func() { pool.Purge(r) })
}

// exec runs a command in the container and returns its exit code and
// output (stdout and stderr together).
func (c *container) exec(t *testing.T, cmd ...string) (int, string) {
	t.Helper()
	return dockerExec(t, c.pool, c.id, cmd...)
}

func dockerExec(t *testing.T, pool *dockertest.Pool, id string, cmd ...string) (int, string) {
	t.Helper()
	ex, err := pool.Client.CreateExec(dc.CreateExecOptions{Container: id, Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return -1, err.Error()
	}
	var out bytes.Buffer
	if err := pool.Client.StartExec(ex.ID, dc.StartExecOptions{OutputStream: &out, ErrorStream: &out}); err != nil {
		return -1, err.Error()
	}
	in, err := pool.Client.InspectExec(ex.ID)
	if err != nil {
		return -1, err.Error()
	}
	return in.ExitCode, out.String()
}

// logs is the container's output so far.
func (c *container) logs(t *testing.T) string {
	var out bytes.Buffer
	err := c.pool.Client.Logs(dc.LogsOptions{Container: c.id, OutputStream: &out, ErrorStream: &out,
		Stdout: true, Stderr: true, InactivityTimeout: 10 * time.Second})
	if err != nil {
		fmt.Fprintf(&out, "(logs: %v)", err)
	}
	return out.String()
}

// waitFor polls cond every interval until it returns true or timeout
// passes; it fails the test with what the last attempt said.
func waitFor(t *testing.T, what string, timeout, interval time.Duration, cond func() (bool, string)) time.Duration {
	t.Helper()
	t0 := time.Now()
	var last string
	for {
		ok, msg := cond()
		if ok {
			return time.Since(t0)
		}
		last = msg
		if time.Since(t0) > timeout {
			t.Fatalf("%s: not within %s; last: %s", what, timeout, last)
		}
		time.Sleep(interval)
	}
}

// healthcheck returns the HEALTHCHECK command of an image, for running it
// by hand: Docker's own schedule (every 10 s) is too slow for a test.
func healthcheck(t *testing.T, pool *dockertest.Pool, image string) []string {
	t.Helper()
	img, err := pool.Client.InspectImage(image)
	if err != nil {
		t.Fatal(err)
	}
	hc := img.Config.Healthcheck
	if hc == nil || len(hc.Test) < 2 || hc.Test[0] != "CMD" {
		t.Fatalf("%s: HEALTHCHECK %+v: want the exec form CMD [...]", image, hc)
	}
	return hc.Test[1:]
}
