package restore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/zkfence/zkfence/internal/heldexec"
)

// fromScript runs the operator's script to fill a staging directory. A
// script that exits 0 and leaves staging empty says: nothing to restore.
func fromScript(ctx context.Context, cfg Config, want string, t target, log *slog.Logger) (Result, error) {
	return t.attempt(ctx, cfg, log, func(ctx context.Context, s *staging) (filled, error) {
		fsRef, err := s.root.Open(".")
		if err != nil {
			return filled{}, err
		}
		defer fsRef.Close()
		if err := runScript(ctx, cfg, want, s.path, log); err != nil {
			return filled{}, err
		}
		names, err := readNamesIn(s.root, ".")
		if err != nil {
			return filled{}, err
		}
		if len(names) == 0 {
			return filled{}, fmt.Errorf("%w: the restore script exited 0 and left the staging directory empty", ErrNoBackup)
		}
		eng, ok, err := detect(s.root, want)
		if err != nil {
			return filled{}, err
		}
		if !ok {
			return filled{}, fmt.Errorf("the restore script exited 0 but left no %s data directory (no engine marker) in staging", want)
		}
		n, files, mode, err := settleTree(ctx, s.root, fsRef, eng, t)
		if err != nil {
			return filled{}, err
		}
		return filled{eng: eng, rootMode: mode,
			marker: Marker{Backup: "cmd", Source: "restore-cmd", Engine: eng.name, Bytes: n, Files: files}}, nil
	})
}

// runScript runs cfg.Cmd with sh -c in staging, with its environment, its
// output in the log, and a timeout. The script runs in its own process
// group, killed whole on timeout or cancellation, and dies with zkfence
// (PDEATHSIG) so that a killed wrapper leaves no writer behind.
func runScript(ctx context.Context, cfg Config, want, staging string, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.cmdTimeout())
	defer cancel()
	cmd := heldexec.Command(ctx, "/bin/sh", "-c", cfg.Cmd)
	cmd.Dir = staging
	cmd.Env = append(withoutOwnConfig(os.Environ()),
		"ZKFENCE_DATA_DIR="+cfg.DataDir,
		"ZKFENCE_STAGING_DIR="+staging,
		"ZKFENCE_TOKEN="+strconv.FormatInt(cfg.Token, 10),
		"ZKFENCE_ENGINE="+want,
	)
	out := newLineLogger(log, slog.LevelInfo, "restore script")
	cmd.Stdout, cmd.Stderr = out, out
	p := startProgress(log, "restore script", cfg.progressEvery(), 0, func() int64 { return treeSize(staging) })
	err := heldexec.Run(cmd)
	p.Stop()
	out.Flush()
	if err == nil {
		return nil
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("the restore script timed out after %s (killed): %w", cfg.cmdTimeout(), err)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("the restore script was stopped: %w", context.Cause(ctx))
	}
	return fmt.Errorf("the restore script failed: %w", err)
}

// withoutOwnConfig drops zkfence's own ZKFENCE_* configuration from the
// environment the script inherits, as the run pipeline does for the child;
// the script gets the ZKFENCE_* variables of its contract instead.
func withoutOwnConfig(environ []string) []string {
	out := environ[:0:0]
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "ZKFENCE_") {
			out = append(out, kv)
		}
	}
	return out
}
