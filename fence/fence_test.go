package fence

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zkfence/zkfence/internal/clock"
	"github.com/zkfence/zkfence/internal/fstest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func claim(token int64) Claim {
	return Claim{Service: "/zkfence/db", Token: token, Holder: "node-a/1", LockDelay: 10 * time.Second, ClaimNew: true}
}

func TestWriteReadRoundTrip(t *testing.T) {
	root := t.TempDir()
	want := Record{Service: "/s", Token: 7, Holder: "h", Heartbeat: time.Unix(100, 0).UTC()}
	if err := Write(root, want); err != nil {
		t.Fatal(err)
	}
	got, err := Read(root)
	if err != nil || got != want {
		t.Fatalf("Read = %+v, %v; want %+v", got, err, want)
	}
	entries, _ := os.ReadDir(filepath.Join(root, Dir))
	if len(entries) != 1 {
		t.Fatalf("temp files left behind: %v", entries)
	}
}

func TestAcquireRefusals(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	tests := []struct {
		name  string
		prev  *Record
		claim Claim
		want  string
	}{
		{"new volume without --claim-volume", nil, Claim{Service: "/zkfence/db", Token: 5}, "--claim-volume"},
		{"another service's volume", &Record{Service: "/zkfence/other", Token: 3, Holder: "x"}, claim(5), "belongs to service /zkfence/other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if tt.prev != nil {
				if err := Write(root, *tt.prev); err != nil {
					t.Fatal(err)
				}
			}
			err := Acquire(context.Background(), root, tt.claim, clk, quiet)
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Acquire = %v, want ErrRefused mentioning %q", err, tt.want)
			}
			if r, err := Read(root); tt.prev != nil && (err != nil || r != *tt.prev) {
				t.Fatalf("the refused claim changed the record: %+v %v", r, err)
			}
		})
	}
}

func TestAcquireRefusesANewerToken(t *testing.T) {
	root := t.TempDir()
	prev := Record{Service: "/zkfence/db", Token: 9, Holder: "x", Released: true}
	if err := Write(root, prev); err != nil {
		t.Fatal(err)
	}
	err := Acquire(context.Background(), root, claim(5), clock.NewFake(time.Unix(1000, 0)), quiet)
	if !errors.Is(err, ErrFenced) || !strings.Contains(err.Error(), "reset or rolled back") {
		t.Fatalf("Acquire = %v, want ErrFenced naming a rollback", err)
	}
	if r, _ := Read(root); r.Token != 9 {
		t.Fatalf("the refused claim changed the record: %+v", r)
	}
}

func TestAcquireTakeOverAndClaim(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	root := t.TempDir()
	if err := Acquire(context.Background(), root, claim(5), clk, quiet); err != nil {
		t.Fatal(err)
	}
	if r, _ := Read(root); r.Token != 5 || r.Service != "/zkfence/db" {
		t.Fatalf("record after claim: %+v", r)
	}
	c := claim(6)
	c.Service, c.TakeOver = "/zkfence/new-home", true
	clk.Advance(time.Minute)
	if err := Acquire(context.Background(), root, c, clk, quiet); err != nil {
		t.Fatal(err)
	}
	if r, _ := Read(root); r.Service != "/zkfence/new-home" || r.Token != 6 {
		t.Fatalf("record after take-over: %+v", r)
	}
}

func TestAcquireWaitsOutTheLockDelay(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	root := t.TempDir()
	// The previous holder beat 3s ago: 7s of the 10s lock-delay remain.
	prev := Record{Service: "/zkfence/db", Token: 4, Holder: "node-b/9", Heartbeat: clk.Now().Add(-3 * time.Second)}
	if err := Write(root, prev); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Acquire(context.Background(), root, claim(5), clk, quiet) }()
	waitTimer(t, clk)
	clk.Advance(6 * time.Second)
	select {
	case err := <-done:
		t.Fatalf("Acquire returned %v with 1s of the lock-delay left", err)
	case <-time.After(50 * time.Millisecond):
	}
	if r, _ := Read(root); r.Token != 4 {
		t.Fatalf("our token was written before the lock-delay passed: %+v", r)
	}
	clk.Advance(time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r, _ := Read(root); r.Token != 5 {
		t.Fatalf("record after the wait: %+v", r)
	}
}

func TestReleasedOrFutureHeartbeat(t *testing.T) {
	now := time.Unix(1000, 0)
	c := claim(5)
	if w := remaining(Record{Token: 4, Heartbeat: now, Released: true}, c, now); w != 0 {
		t.Fatalf("released record: wait %v, want 0", w)
	}
	if w := remaining(Record{Token: 4, Heartbeat: now.Add(time.Hour)}, c, now); w != c.LockDelay {
		t.Fatalf("heartbeat from the future: wait %v, want the full lock-delay", w)
	}
}

func TestKeeperBeatsAndIsFencedByANewerToken(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	root := t.TempDir()
	c := claim(5)
	if err := Acquire(context.Background(), root, c, clk, quiet); err != nil {
		t.Fatal(err)
	}
	k := Keep([]string{root}, c, time.Second, func() bool { return true }, clk, quiet)
	defer k.Stop()
	waitTimer(t, clk)
	clk.Advance(time.Second)
	waitFor(t, func() bool { r, _ := Read(root); return r.Heartbeat.Equal(clk.Now().UTC()) })
	// A newer holder writes its token: our next beat must see it.
	if err := Write(root, Record{Service: c.Service, Token: 8, Holder: "node-b/2", Heartbeat: clk.Now()}); err != nil {
		t.Fatal(err)
	}
	waitTimer(t, clk)
	clk.Advance(time.Second)
	select {
	case <-k.Lost():
	case <-time.After(5 * time.Second):
		t.Fatal("keeper did not notice the newer token")
	}
	if !errors.Is(k.Err(), ErrFenced) || !strings.Contains(k.Err().Error(), "token 8") {
		t.Fatalf("keeper error %v", k.Err())
	}
	if r, _ := Read(root); r.Token != 8 {
		t.Fatalf("a fenced keeper overwrote the newer record: %+v", r)
	}
}

func TestKeeperIsFencedByAnUnreadableRecord(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	root := t.TempDir()
	c := claim(5)
	if err := Acquire(context.Background(), root, c, clk, quiet); err != nil {
		t.Fatal(err)
	}
	k := Keep([]string{root}, c, time.Second, func() bool { return true }, clk, quiet)
	defer k.Stop()
	if err := os.WriteFile(Path(root), []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitTimer(t, clk)
	clk.Advance(time.Second)
	select {
	case <-k.Lost():
	case <-time.After(5 * time.Second):
		t.Fatal("keeper did not notice the unreadable record")
	}
}

func TestReleaseMarksOnlyOurRecord(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	ours, theirs := t.TempDir(), t.TempDir()
	c := claim(5)
	for _, root := range []string{ours, theirs} {
		if err := Acquire(context.Background(), root, c, clk, quiet); err != nil {
			t.Fatal(err)
		}
	}
	newer := Record{Service: c.Service, Token: 9, Holder: "node-b/2", Heartbeat: clk.Now().UTC()}
	if err := Write(theirs, newer); err != nil {
		t.Fatal(err)
	}
	k := Keep([]string{ours, theirs}, c, time.Hour, func() bool { return true }, clk, quiet)
	if err := k.Release(); err != nil {
		t.Fatal(err)
	}
	if r, _ := Read(ours); !r.Released {
		t.Fatalf("our record not released: %+v", r)
	}
	if r, _ := Read(theirs); r != newer {
		t.Fatalf("release touched a record that is not ours: %+v", r)
	}
}

func waitTimer(t *testing.T, clk *clock.Fake) {
	t.Helper()
	waitFor(t, func() bool { return clk.Waiters() > 0 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestReadFailureClassification(t *testing.T) {
	root := t.TempDir()
	_, missing := Read(root)
	if err := readFailure(missing); !errors.Is(err, ErrFenced) {
		t.Fatalf("missing record: %v, want ErrFenced", err)
	}
	if err := os.MkdirAll(filepath.Join(root, Dir), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(Path(root), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, corrupt := Read(root)
	if err := readFailure(corrupt); !errors.Is(err, ErrFenced) {
		t.Fatalf("corrupt record: %v, want ErrFenced", err)
	}
	io := &os.PathError{Op: "open", Path: Path(root), Err: syscall.ENOTCONN}
	if err := readFailure(fmt.Errorf("read fence record: %w", io)); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("ENOTCONN: %v, want ErrUnreachable", err)
	}
}

// Out of descriptors (idle health connections once did it), a heartbeat
// cannot open the record: that is this process's trouble, not the
// volume's, and must not stop the child as a lost mount (issue 16, item 5).
func TestKeeperOutOfDescriptorsIsNotALostMount(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	root := t.TempDir()
	c := claim(5)
	if err := Acquire(context.Background(), root, c, clk, quiet); err != nil {
		t.Fatal(err)
	}
	k := Keep([]string{root}, c, time.Second, func() bool { return true }, clk, quiet)
	defer k.Stop()
	release := fstest.ExhaustDescriptors(t)
	for range 3 {
		waitTimer(t, clk)
		clk.Advance(time.Second)
	}
	waitTimer(t, clk) // the loop armed its timer again: the beats are done
	release()
	select {
	case <-k.Lost():
		t.Fatalf("keeper lost on EMFILE: %v", k.Err())
	default:
	}
	clk.Advance(time.Second)
	waitFor(t, func() bool { r, _ := Read(root); return r.Heartbeat.Equal(clk.Now().UTC()) })
}

// Stop on a healthy volume reports the keeper clean even when it lands in
// the middle of a heartbeat's write: the write finishes in milliseconds. (A
// false "stuck" made a clean exit keep its lock: exit 95.)
func TestKeeperStopDuringAHealthyWriteIsClean(t *testing.T) {
	root := t.TempDir()
	c := claim(5)
	if err := Acquire(context.Background(), root, c, clock.Real{}, quiet); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		k := Keep([]string{root}, c, time.Millisecond, func() bool { return true }, clock.Real{}, quiet)
		time.Sleep(time.Duration(i%7) * time.Millisecond)
		if !k.Stop() {
			t.Fatalf("try %d: Stop reported a heartbeat stuck in a write on a healthy volume", i)
		}
	}
}
