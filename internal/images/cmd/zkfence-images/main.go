// Command zkfence-images builds the local image set (internal/images) and
// tags it :latest, for `make images` and for trying examples/compose without
// a registry:
//
//	go run ./internal/images/cmd/zkfence-images
//	ZKFENCE_PG_IMAGE=zkfence-local/postgres:latest \
//	ZKFENCE_ZK_IMAGE=zkfence-local/zookeeper:latest docker-compose -f examples/compose/docker-compose.yml up -d
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/zkfence/zkfence/internal/images"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "zkfence-images:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	root, err := images.ModuleRoot()
	if err != nil {
		return err
	}
	t0 := time.Now()
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%6.1fs  "+format+"\n", append([]any{time.Since(t0).Seconds()}, args...)...)
	}
	set, err := images.EnsureSet(ctx, root, logf)
	if err != nil {
		return err
	}
	for _, tag := range []string{set.Base, set.Golang, set.ZooKeeper, set.Postgres, set.MariaDB} {
		latest := tag[:strings.LastIndex(tag, ":")] + ":latest"
		if out, err := exec.CommandContext(ctx, "docker", "tag", tag, latest).CombinedOutput(); err != nil {
			return fmt.Errorf("docker tag %s %s: %w: %s", tag, latest, err, out)
		}
		size, err := images.Size(ctx, tag)
		if err != nil {
			return err
		}
		fmt.Printf("%-45s %-40s %5d MB\n", tag, latest, size>>20)
	}
	return nil
}
