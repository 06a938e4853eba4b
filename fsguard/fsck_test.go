package fsguard

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zkfence/zkfence/internal/fstest"
)

func TestJudgeFsck(t *testing.T) {
	for code, want := range map[int]verdict{
		0: verdictOK, 1: verdictOK, 2: verdictWarn, 3: verdictWarn, 4: verdictRefuse, 5: verdictRefuse,
		8: verdictRefuse, 12: verdictRefuse, 16: verdictRefuse, 32: verdictRefuse, 128: verdictRefuse, -1: verdictRefuse,
	} {
		if got, _ := judgeFsck(code, ""); got != want {
			t.Errorf("e2fsck exit %d: verdict %d, want %d", code, got, want)
		}
	}
}

func TestJudgeXFSRepair(t *testing.T) {
	dirty := "ALERT: The filesystem has valuable metadata changes in a log which is being\nignored because the -n option was used."
	cases := []struct {
		code int
		out  string
		want verdict
	}{
		{0, "", verdictOK}, {1, dirty, verdictReplay}, {1, "bad magic number", verdictRefuse}, {2, dirty, verdictRefuse},
	}
	for _, c := range cases {
		if got, _ := judgeXFSRepair(c.code, c.out); got != c.want {
			t.Errorf("xfs_repair exit %d %q: verdict %d, want %d", c.code, c.out, got, c.want)
		}
	}
}

func TestTailBuffer(t *testing.T) {
	b := &tailBuffer{max: 10}
	b.Write([]byte("0123456789"))
	if b.String() != "0123456789" {
		t.Errorf("got %q", b.String())
	}
	b.Write([]byte("abc"))
	if got := b.String(); !strings.HasSuffix(got, "3456789abc") || !strings.HasPrefix(got, "[...]") {
		t.Errorf("got %q", got)
	}
}

func TestCheckers(t *testing.T) {
	if got := strings.Join(Checkers(), ","); got != "ext2,ext3,ext4,xfs" {
		t.Errorf("Checkers() = %s", got)
	}
}

// A checker still running when the lease ends is SIGKILLed, with its whole
// group, at once: one that ignores SIGTERM (a repair that will not be
// interrupted) must not outlive the lease's kill deadline. Before, it got
// SIGTERM and five seconds.
func TestCheckerIgnoringSIGTERMDiesAtOnceWhenTheLeaseEnds(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	script := filepath.Join(dir, "stubborn-fsck")
	body := "#!/bin/sh\ntrap '' TERM\necho $$ > " + pidFile + "\nsleep 30 &\nwait\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := runChecker(ctx, checker{program: script, judge: judgeFsck}, "/dev/null", slog.New(slog.NewTextHandler(io.Discard, nil)))
		done <- err
	}()
	pid := fstest.WaitPidFile(pidFile, 5*time.Second)
	if pid == 0 {
		t.Fatal("the checker did not start")
	}
	cancel()
	cut := time.Now()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a checker stopped by the lease's end was taken for a pass")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("runChecker did not return")
	}
	if took := time.Since(cut); took > 1500*time.Millisecond {
		t.Fatalf("the checker outlived the cancel by %v", took)
	}
	if syscall.Kill(pid, 0) == nil {
		t.Fatalf("checker pid %d still alive after runChecker returned", pid)
	}
}
