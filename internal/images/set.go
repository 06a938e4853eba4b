package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Set is every image the container tests use.
type Set struct {
	Base      string // zkfence-base/db-node: PostgreSQL, MariaDB, ZooKeeper, tools
	Golang    string // zkfence-local/golang: Base plus the host's Go toolchain
	ZooKeeper string // zkfence-local/zookeeper: docker/zookeeper on Base
	Postgres  string // zkfence-local/postgres: Dockerfile.postgres on Base
	MariaDB   string // zkfence-local/mariadb: Dockerfile.mysql on Base
}

// EnsureSet returns every image of the set, building those the Docker
// engine does not have. root is the repository (the directory of go.mod).
func EnsureSet(ctx context.Context, root string, logf func(string, ...any)) (Set, error) {
	if logf == nil {
		logf = stderrLogf
	}
	var s Set
	var err error
	base := DBNode
	base.Logf = logf
	if s.Base, err = Ensure(ctx, base); err != nil {
		return s, err
	}
	src, err := NewSource(ctx, root)
	if err != nil {
		return s, err
	}
	defer src.Close()
	err = parallel(
		func() (err error) {
			s.ZooKeeper, err = EnsureZooKeeper(ctx, root, s.Base, logf)
			return err
		},
		func() (err error) {
			if s.Golang, err = EnsureGolang(ctx, s.Base, src, logf); err != nil {
				return err
			}
			s.Postgres, s.MariaDB, err = EnsureZkfence(ctx, src, s.Golang, s.Base, logf)
			return err
		})
	return s, err
}

// parallel runs the functions at once and returns the first error. Docker
// builds spend most of their time waiting for the engine to create and
// commit containers, one per instruction: two builds at a time take little
// more than one.
func parallel(fns ...func() error) error {
	errs := make(chan error, len(fns))
	for _, fn := range fns {
		go func() { errs <- fn() }()
	}
	var first error
	for range fns {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// EnsureZooKeeper returns zkfence-local/zookeeper:<hash>, docker/zookeeper
// built on base.
func EnsureZooKeeper(ctx context.Context, root, base string, logf func(string, ...any)) (string, error) {
	if logf == nil {
		logf = stderrLogf
	}
	dir := filepath.Join(root, "docker", "zookeeper")
	hash, err := hashTree(dir, recipeVersion, base)
	if err != nil {
		return "", fmt.Errorf("images: %w", err)
	}
	tag := LocalRepository + "/zookeeper:" + hash
	err = ensureBuilt(ctx, tag, logf, func() error {
		return dockerBuild(ctx, buildOptions{tag: tag, dockerfile: "Dockerfile", logf: logf,
			args: map[string]string{"BASE_IMAGE": base}, context: dirContext(dir)})
	})
	if err == nil {
		pruneOthers(ctx, LocalRepository+"/zookeeper", tag, 2, logf)
	}
	return tag, err
}

// Source is the build context of the Dockerfiles, assembled in a temporary
// directory with exactly what they need: themselves, docker/, go.mod,
// go.sum, the Go files of the module's packages that cmd/zkfence imports (as
// `go list -deps` sees them for a static linux build), and, once a build
// needs it, vendor/ (go mod vendor, from the local module cache). The build
// then needs no network and does not depend on what else is in the working
// tree.
type Source struct {
	Dir      string
	Hash     string // of everything but vendor/
	ModHash  string // of go.mod and go.sum
	vendored bool
}

// NewSource assembles the build context of the repository root.
func NewSource(ctx context.Context, root string) (*Source, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "zkfence-build-context-")
	if err != nil {
		return nil, err
	}
	src := &Source{Dir: dir}
	if err := src.fill(ctx, root); err != nil {
		src.Close()
		return nil, err
	}
	return src, nil
}

// Close removes the context.
func (s *Source) Close() error { return os.RemoveAll(s.Dir) }

func (s *Source) fill(ctx context.Context, root string) error {
	for _, f := range []string{"Dockerfile.postgres", "Dockerfile.mysql", "go.mod", "go.sum"} {
		if err := copyFile(filepath.Join(root, f), filepath.Join(s.Dir, f)); err != nil {
			return fmt.Errorf("images: build context: %w", err)
		}
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return err
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		return err
	}
	h := sha256.Sum256(append(append(mod, 0), sum...))
	s.ModHash = hex.EncodeToString(h[:])[:12]
	if err := copyTree(filepath.Join(root, "docker"), filepath.Join(s.Dir, "docker")); err != nil {
		return fmt.Errorf("images: build context: %w", err)
	}
	cmd := exec.CommandContext(ctx, "go", "list", "-deps", "-f",
		`{{if and .Module .Module.Main}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{range .EmbedFiles}} {{.}}{{end}}{{end}}`,
		"./cmd/zkfence")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("images: go list -deps ./cmd/zkfence: %w: %s", err, stderr.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		rel, err := filepath.Rel(root, f[0])
		if err != nil || strings.HasPrefix(rel, "..") {
			return fmt.Errorf("images: package directory %s is outside %s", f[0], root)
		}
		for _, name := range f[1:] {
			if err := copyFile(filepath.Join(f[0], name), filepath.Join(s.Dir, rel, name)); err != nil {
				return fmt.Errorf("images: build context: %w", err)
			}
		}
	}
	s.Hash, err = hashTree(s.Dir)
	return err
}

// EnsureZkfence returns zkfence-local/postgres:<hash> and
// zkfence-local/mariadb:<hash>: Dockerfile.postgres and Dockerfile.mysql
// built from src with golang as GO_IMAGE and base as the runtime image. The
// hash covers src (the Dockerfiles, docker/, go.mod, go.sum and the sources
// of cmd/zkfence) and the two images, so an unrelated change rebuilds
// nothing. The second image reuses the first one's build stage from
// Docker's layer cache.
func EnsureZkfence(ctx context.Context, src *Source, golang, base string, logf func(string, ...any)) (pg, maria string, err error) {
	if logf == nil {
		logf = stderrLogf
	}
	h := sha256.Sum256([]byte(strings.Join([]string{recipeVersion, src.Hash, golang, base}, "\n")))
	hash := hex.EncodeToString(h[:])[:12]
	pg = LocalRepository + "/postgres:" + hash
	maria = LocalRepository + "/mariadb:" + hash
	builds := []struct{ tag, dockerfile, baseArg string }{
		{pg, "Dockerfile.postgres", "PG_IMAGE"},
		{maria, "Dockerfile.mysql", "MYSQL_IMAGE"},
	}
	args := func(baseArg string) map[string]string {
		return map[string]string{"GO_IMAGE": golang, baseArg: base, "VERSION": "local-" + src.Hash}
	}
	var missing int
	for _, b := range builds {
		ok, err := Exists(ctx, b.tag)
		if err != nil {
			return "", "", err
		}
		if !ok {
			missing++
		}
	}
	if missing == 0 {
		return pg, maria, nil
	}
	if err := src.vendor(ctx); err != nil {
		return "", "", err
	}
	if missing == len(builds) {
		// Both Dockerfiles have the same build stage: build it once, so
		// that the two builds below, run at once, find it in the cache.
		logf("zkfence build stage: building")
		t0 := time.Now()
		err := dockerBuild(ctx, buildOptions{dockerfile: "Dockerfile.postgres", target: "build", logf: logf,
			args: args("PG_IMAGE"), context: dirContext(src.Dir)})
		if err != nil {
			return "", "", err
		}
		logf("zkfence build stage: built in %s", time.Since(t0).Round(100*time.Millisecond))
	}
	fns := make([]func() error, len(builds))
	for i, b := range builds {
		fns[i] = func() error {
			err := ensureBuilt(ctx, b.tag, logf, func() error {
				return dockerBuild(ctx, buildOptions{tag: b.tag, dockerfile: b.dockerfile, logf: logf,
					args: args(b.baseArg), context: dirContext(src.Dir)})
			})
			if err == nil {
				pruneOthers(ctx, b.tag[:strings.LastIndex(b.tag, ":")], b.tag, 2, logf)
			}
			return err
		}
	}
	if err := parallel(fns...); err != nil {
		return "", "", err
	}
	pruneBuildStages(ctx, logf)
	return pg, maria, nil
}

// vendor runs `go mod vendor` in the build context, once: the modules come
// from the local module cache (downloaded first if missing, like any go
// command), and vendor/ has exactly what the copied packages import.
func (s *Source) vendor(ctx context.Context) error {
	if s.vendored {
		return nil
	}
	cmd := exec.CommandContext(ctx, "go", "mod", "vendor", "-e")
	cmd.Dir = s.Dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("images: go mod vendor: %w: %s", err, out)
	}
	s.vendored = true
	return nil
}

// ModuleRoot finds the repository from the working directory: the nearest
// directory above it whose go.mod is zkfence's.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(data, []byte("module github.com/zkfence/zkfence\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("images: the zkfence repository (its go.mod) is not above the working directory")
		}
		dir = parent
	}
}
