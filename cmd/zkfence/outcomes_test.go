package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zkfence/zkfence/health"
	"github.com/zkfence/zkfence/restore"
)

// scrape returns the /metrics page of st.
func scrape(t *testing.T, st *health.State) string {
	t.Helper()
	srv, err := health.Listen("127.0.0.1:0", st)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	code, body := fetch(srv.Addr(), "/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	return body
}

// TestRestoreAndBackupFailuresCounted: the run's adapters count a failed
// restore at start and failed scheduled backups on /metrics, and count
// neither a backup cut short by Stop nor a start with nothing to restore.
func TestRestoreAndBackupFailuresCounted(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st := health.NewState("/zkfence/db")
	dir := t.TempDir()

	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	empty := restorer{cfg: restore.Config{DataDir: data, Engine: restore.Postgres, From: filepath.Join(dir, "none"), UID: -1, GID: -1}, log: log, state: st}
	if err := empty.Restore(context.Background(), 1); err != nil {
		t.Fatalf("restore with no backup: %v", err)
	}
	failing := restorer{cfg: restore.Config{DataDir: data, Engine: restore.Postgres, Cmd: "exit 3", UID: -1, GID: -1}, log: log, state: st}
	if err := failing.Restore(context.Background(), 1); err == nil {
		t.Fatal("a restore script that exits 3 succeeded")
	}

	b := &scheduledBackups{log: log, state: st, sched: backupSchedule{Every: 20 * time.Millisecond,
		Config: restore.BackupConfig{Engine: restore.Postgres, To: filepath.Join(dir, "catalog"), Tool: "/bin/false", UID: -1, GID: -1}}}
	b.Start(context.Background(), 1)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(scrape(t, st), "zkfence_backup_failures_total 2") {
		if time.Now().After(deadline) {
			b.Stop()
			t.Fatalf("no two backup failures counted in 10 s:\n%s", scrape(t, st))
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Stop()

	page := scrape(t, st)
	for _, want := range []string{"zkfence_restore_failures_total 1", "zkfence_backups_total 0", "zkfence_backup_last_success_timestamp_seconds 0"} {
		if !strings.Contains(page, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if !strings.Contains(page, "zkfence_backup_last_failure_timestamp_seconds 1.") {
		t.Errorf("no last failure time on /metrics")
	}
}
