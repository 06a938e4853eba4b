package images

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// golangLabel marks the local golang image and everything built from it.
const golangLabel = "org.zkfence.images=golang"

// LocalRepository holds the images built from Dockerfiles on local bases.
const LocalRepository = "zkfence-local"

// golangDockerfile makes a base into a Go build image like the official
// golang image (the toolchain in /usr/local/go, GOPATH /go, GOTOOLCHAIN=local:
// never download another toolchain), with one addition: a warm build cache.
// It builds cmd/zkfence once from the source in /warm, with the flags of
// the Dockerfiles' build stage, so that the standard library and the
// modules are compiled already when the Dockerfiles build: their go build
// then compiles zkfence's own packages only (-trimpath keeps the directory
// out of the cache keys). A failure there only means a colder cache; the
// real build reports it. Not /src, where the build stage copies the source:
// this image deletes its copy, and a file of it that a later tree no longer
// has (a renamed runner/guard.go) showed through the build stage's new /src
// on this overlay2 engine, and broke the build. The label marks the image's descendants, the Dockerfiles' build stages:
// docker image prune --filter label=org.zkfence.images=golang removes the
// stale ones.
const golangDockerfile = `ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ENV GOPATH=/go PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin GOTOOLCHAIN=local
LABEL ` + golangLabel + `
COPY . /
RUN cd /warm && CGO_ENABLED=0 go build -trimpath -buildvcs=false -o /dev/null ./cmd/zkfence \
    || echo "warming the build cache failed; builds will compile more"; \
    rm -rf /warm /Dockerfile; mkdir -p /go
`

// EnsureGolang returns zkfence-local/golang:<version>-<hash>, the stand-in
// for the official golang image: base plus the host's Go toolchain (`go env
// GOROOT`), which debootstrap cannot provide in the version go.mod needs,
// plus a build cache warmed with src (see golangDockerfile). Its hash covers
// the base, the toolchain's version and path, and go.mod and go.sum; a change
// of zkfence's own sources does not rebuild it.
func EnsureGolang(ctx context.Context, base string, src *Source, logf func(string, ...any)) (string, error) {
	if logf == nil {
		logf = stderrLogf
	}
	out, err := exec.CommandContext(ctx, "go", "env", "GOROOT", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("images: go env: %w", err)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		return "", fmt.Errorf("images: go env GOROOT GOVERSION: %q", out)
	}
	goroot, version := f[0], f[1]
	h := sha256.Sum256([]byte(strings.Join([]string{recipeVersion, golangDockerfile, base, goroot, version, src.ModHash}, "\n")))
	tag := LocalRepository + "/golang:" + strings.TrimPrefix(version, "go") + "-" + hex.EncodeToString(h[:])[:12]
	err = ensureBuilt(ctx, tag, logf, func() error {
		if err := src.vendor(ctx); err != nil {
			return err
		}
		return dockerBuild(ctx, buildOptions{
			tag: tag, dockerfile: "Dockerfile", logf: logf,
			args: map[string]string{"BASE_IMAGE": base},
			context: func(w io.Writer) error {
				tw := tar.NewWriter(w)
				if err := tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(golangDockerfile)), ModTime: epoch}); err != nil {
					return err
				}
				if _, err := io.WriteString(tw, golangDockerfile); err != nil {
					return err
				}
				if err := tarTree(tw, goroot, "usr/local/go"); err != nil {
					return err
				}
				if err := tarTree(tw, src.Dir, "warm"); err != nil {
					return err
				}
				return tw.Close()
			},
		})
	})
	if err == nil {
		pruneOthers(ctx, LocalRepository+"/golang", tag, 1, logf)
	}
	return tag, err
}
