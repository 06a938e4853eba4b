package fenceagent

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zkfence/zkfence/internal/testlog"
)

// fenceDocker is Debian's fence_docker (package fence-agents).
const fenceDocker = "/usr/sbin/fence_docker"

// The real fence_docker fences a real container on this machine's Docker,
// through the TLS proxy; the plug is the fence id that zkfence computes for
// itself inside that container (SelfID).
func TestFenceDocker(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds an image and runs a container")
	}
	if _, err := os.Stat(fenceDocker); err != nil {
		t.Fatalf("%v: install Debian's fence-agents (scripts/install-deps.sh)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	image := buildFenceeImage(ctx, t)
	id := runFencee(ctx, t, image)
	if self, source := fenceeSelfID(ctx, t, id); self != id {
		t.Fatalf("SelfID in the container = %s (from %s), want its ID %s", self, source, id)
	} else {
		t.Logf("the container's SelfID is its ID, from %s", source)
	}

	proxy := startDockerProxy(t, id)
	var logs testlog.Buffer
	a := &Agent{Path: fenceDocker, Timeout: 60 * time.Second,
		Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Options: []Option{
			{Name: "ip", Ref: "127.0.0.1"}, {Name: "ipport", Ref: proxy.Port},
			{Name: "ssl_secure", Ref: "1"}, {Name: "tlscacert", Ref: proxy.CACert},
			{Name: "tlscert", Ref: proxy.Cert}, {Name: "tlskey", Ref: proxy.Key},
			// fence_docker defaults to API 1.11; Docker 20.10 accepts 1.12 and up.
			{Name: "api_version", Ref: "1.41"},
		}}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	m, err := a.Check(ctx)
	if err != nil {
		t.Fatalf("Check: %v\nproxy saw %q", err, proxy.Requests())
	}
	if m.Name != "fence_docker" || m.NeedsUnfencing() || !m.Has("monitor") {
		t.Fatalf("metadata %+v", m)
	}
	t.Logf("Check (metadata, monitor): %s", time.Since(start).Round(time.Millisecond))

	if p, err := a.Status(ctx, id); p != PowerOn || err != nil {
		t.Fatalf("Status of the running container = %v, %v", p, err)
	}
	// A plug the agent cannot reach (the proxy refuses it) is a failure,
	// never a fence.
	err = a.Off(ctx, "zkfence-no-such-container")
	if !errors.Is(err, ErrFenceFailed) || !errors.Is(err, ErrAgentFailed) {
		t.Fatalf("Off of an unreachable plug = %v", err)
	}
	t.Logf("Off of an unreachable plug: %v", err)
	// The holder that issue 17 is about: frozen (docker pause), its lease
	// gone, able to run again at the thaw.
	dockerOut(ctx, t, "pause", id)
	start = time.Now()
	if err := a.Off(ctx, id); err != nil {
		t.Fatalf("Off: %v\nproxy saw %q\nlog:\n%s", err, proxy.Requests(), logs.String())
	}
	took := time.Since(start)
	if state := dockerOut(ctx, t, "inspect", "-f", "{{.State.Running}} {{.State.Paused}}", id); state != "false false" {
		t.Fatalf("after Off, the container's State.Running and Paused are %s", state)
	}
	if !proxy.Saw("POST", "/containers/"+id+"/kill") {
		t.Fatalf("fence_docker never POSTed kill: %q", proxy.Requests())
	}
	if p, err := a.Status(ctx, id); p != PowerOff || err != nil {
		t.Fatalf("Status of the fenced container = %v, %v", p, err)
	}
	t.Logf("Off of the paused container (kill, then confirmed by status): %s; requests: %q", took.Round(time.Millisecond), proxy.Requests())
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "fence agent ran") && strings.Contains(line, "plug="+id) {
			t.Log(line[strings.Index(line, "action="):strings.Index(line, "output=")])
		}
	}
}

// buildFenceeImage imports an image holding only a static fencee binary.
func buildFenceeImage(ctx context.Context, t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fencee")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./testdata/fencee")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build fencee: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var rootfs bytes.Buffer
	tw := tar.NewWriter(&rootfs)
	if err := tw.WriteHeader(&tar.Header{Name: "fencee", Mode: 0o755, Size: int64(len(data)), ModTime: time.Now()}); err != nil {
		t.Fatal(err)
	}
	tw.Write(data)
	tw.Close()
	tag := "zkfence-test/fencee:" + randomHex(6)
	imp := exec.CommandContext(ctx, "docker", "import", "--change", `CMD ["/fencee"]`, "-", tag)
	imp.Stdin = &rootfs
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })
	return tag
}

// runFencee starts a container of image and returns its full ID.
func runFencee(ctx context.Context, t *testing.T, image string) string {
	t.Helper()
	name := "zkfence-fenceagent-" + randomHex(6)
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", name).Run() })
	return dockerOut(ctx, t, "run", "-d", "--name", name, "--network", "none", image)
}

// fenceeSelfID waits for the container's first line: "fence-id ID SOURCE".
func fenceeSelfID(ctx context.Context, t *testing.T, id string) (string, string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		f := strings.Fields(dockerOut(ctx, t, "logs", id))
		if len(f) == 3 && f[0] == "fence-id" {
			return f[1], f[2]
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the container never printed its fence id")
	return "", ""
}

func dockerOut(ctx context.Context, t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
