package deadman_test

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/zkfence/zkfence/deadman"
	"github.com/zkfence/zkfence/internal/freezer"
	"github.com/zkfence/zkfence/internal/testmain"
	"github.com/zkfence/zkfence/supervise"
)

// The test binary plays every process of a guarded run (helperEnv names the
// part): the wrapper arms a switch and starts the namespace init, which runs
// a spinner, which forks a second spinner (a daemonized grandchild). Each
// spinner writes CLOCK_MONOTONIC into its slot of a shared file as fast as it
// can, so the file tells the last instant each one ran user-space code.
const (
	helperEnv = "DEADMAN_TEST_HELPER"
	slotsEnv  = "DEADMAN_TEST_SLOTS"
	slotEnv   = "DEADMAN_TEST_SLOT"
)

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		testmain.Main(m)
	case "wrapper":
		wrapper()
	case "nsinit":
		os.Exit(supervise.NamespaceInit(supervise.Spec{Argv: []string{os.Args[0]}, Env: helperEnviron("spinner", "0")},
			supervise.StopPolicy{Signal: syscall.SIGTERM, Grace: time.Second}, nil))
	case "spinner":
		spin()
	case "selfkill":
		selfKill()
	}
	os.Exit(3)
}

func helperEnviron(part, slot string) []string {
	return append(os.Environ(), helperEnv+"="+part, slotEnv+"="+slot)
}

// wrapper waits for "go" on stdin (the test moves it into a cgroup first),
// arms a switch a minute away, starts the namespace init with
// PR_SET_PDEATHSIG, waits until both spinners run, moves the deadline to ms
// from then, says "started <init pid> <deadline on CLOCK_MONOTONIC, ns>", and
// never renews again. The deadline counts from the spinners' start, not the
// wrapper's: on a loaded machine starting three processes can take longer
// than the deadline.
func wrapper() {
	ms, _ := strconv.Atoi(os.Args[1])
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		os.Exit(4)
	}
	sw, err := deadman.New()
	if err != nil {
		fmt.Println("error", err)
		os.Exit(5)
	}
	base := time.Now()
	var after atomic.Int64 // the deadline, as time since base
	after.Store(int64(time.Minute))
	if err := sw.Arm(func() time.Time { return base.Add(time.Duration(after.Load())) }); err != nil {
		fmt.Println("error", err)
		os.Exit(5)
	}
	child, err := supervise.Start(supervise.Spec{Argv: []string{os.Args[0]}, Env: helperEnviron("nsinit", ""), PIDNamespace: true})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(6)
	}
	for s := readSlots(os.Getenv(slotsEnv)); s[0] == 0 || s[1] == 0; s = readSlots(os.Getenv(slotsEnv)) {
		if time.Since(base) > 30*time.Second {
			fmt.Println("error: the spinners did not start within 30 s")
			os.Exit(10)
		}
		time.Sleep(5 * time.Millisecond)
	}
	d := time.Duration(ms) * time.Millisecond
	mono := monotonic() + int64(d) // read first: the true deadline is no earlier
	after.Store(int64(time.Since(base) + d))
	if err := sw.Renewed(); err != nil {
		fmt.Println("error", err)
		os.Exit(5)
	}
	fmt.Println("started", child.Pid(), mono)
	select {}
}

// readSlots returns the spinners' last writes (0: not yet).
func readSlots(name string) [2]int64 {
	data, err := os.ReadFile(name)
	if err != nil || len(data) < 16 {
		return [2]int64{}
	}
	return [2]int64{int64(binary.LittleEndian.Uint64(data)), int64(binary.LittleEndian.Uint64(data[8:]))}
}

// spin writes the monotonic clock into its slot forever; slot 0 first forks
// the spinner of slot 1 in a session of its own (a daemon).
func spin() {
	slot, _ := strconv.Atoi(os.Getenv(slotEnv))
	if slot == 0 {
		cmd := exec.Command(os.Args[0])
		cmd.Env = helperEnviron("spinner", "1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			os.Exit(7)
		}
	}
	f, err := os.OpenFile(os.Getenv(slotsEnv), os.O_RDWR, 0)
	if err != nil {
		os.Exit(8)
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, 16, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		os.Exit(9)
	}
	p := (*int64)(unsafe.Pointer(&mem[8*slot]))
	for {
		atomic.StoreInt64(p, monotonic())
	}
}

// selfKill arms a switch at +ms1, keeps renewing it to now+ms1 until ms2 has
// passed, then stops renewing; with "disarm" it disarms instead and exits 0
// after ms1 more.
func selfKill() {
	ms1, _ := strconv.Atoi(os.Args[1])
	ms2, _ := strconv.Atoi(os.Args[2])
	d := time.Duration(ms1) * time.Millisecond
	sw, err := deadman.New()
	if err != nil {
		os.Exit(5)
	}
	var deadline atomic.Int64
	deadline.Store(time.Now().Add(d).UnixNano())
	if err := sw.Arm(func() time.Time { return time.Unix(0, deadline.Load()) }); err != nil {
		os.Exit(5)
	}
	if len(os.Args) > 3 && os.Args[3] == "disarm" {
		if err := sw.Disarm(); err != nil {
			os.Exit(6)
		}
		time.Sleep(2 * d)
		os.Exit(0)
	}
	stop := time.Now().Add(time.Duration(ms2) * time.Millisecond)
	for time.Now().Before(stop) {
		time.Sleep(d / 4)
		deadline.Store(time.Now().Add(d).UnixNano())
		if err := sw.Renewed(); err != nil {
			os.Exit(6)
		}
	}
	time.Sleep(10 * d)
	os.Exit(0) // not reached when the switch works
}

func monotonic() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

func runSelfKill(t *testing.T, args ...string) (time.Duration, *exec.ExitError) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), helperEnv+"=selfkill")
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if err == nil {
		return took, nil
	}
	ee, ok := err.(*exec.ExitError)
	if !ok {
		t.Fatal(err)
	}
	return took, ee
}

func killedBySIGKILL(ee *exec.ExitError) bool {
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

func TestSwitchFiresAtItsDeadline(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string // deadline in ms, renew until (ms)
		notEarly time.Duration
	}{
		{"at the deadline", []string{"300", "0"}, 300 * time.Millisecond},
		// Renewed to now+300ms every 75ms for 1.2 s: alive at 1.2 s, dead
		// at about 1.5 s.
		{"once the renewals stop", []string{"300", "1200"}, 1500 * time.Millisecond},
		// A deadline already past must not disarm the timer (D2).
		{"at once for a past deadline", []string{"-1", "0"}, 0},
		// Past by 31 years: far before boot, still never zero.
		{"at once for a deadline long past", []string{"-1000000000000", "0"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			took, ee := runSelfKill(t, tc.args...)
			if ee == nil || !killedBySIGKILL(ee) {
				t.Fatalf("want death by SIGKILL, got %v after %s", ee, took)
			}
			if took < tc.notEarly {
				t.Fatalf("killed after %s, before %s", took, tc.notEarly)
			}
		})
	}
}

func TestDisarmedSwitchDoesNotFire(t *testing.T) {
	if _, ee := runSelfKill(t, "200", "0", "disarm"); ee != nil {
		t.Fatalf("a disarmed switch fired: %v", ee)
	}
}

func TestNewRefusesNamespaceInit(t *testing.T) {
	if os.Getpid() == 1 {
		if _, err := deadman.New(); err != deadman.ErrNamespaceInit {
			t.Fatalf("New as PID 1: %v", err)
		}
		return
	}
	sw, err := deadman.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}
}

// freezeRun is one guarded tree frozen past its deadline and thawed.
type freezeRun struct {
	frozenAt, thawedAt int64         // CLOCK_MONOTONIC, ns
	lastRun            [2]int64      // each spinner's last write
	goneWhileFrozen    bool          // every process was gone before the thaw
	wrapperKilled      bool          // the wrapper died of SIGKILL
	afterThaw          time.Duration // how long a spinner ran after the thaw (0: not at all)
}

// freezeGuardedTree starts a wrapper whose deadline is 800ms after both
// spinners run, freezes its cgroup at once, keeps it frozen until 1.5 s past
// the deadline, thaws it, and reports what ran when.
func freezeGuardedTree(t testing.TB, v2 bool) freezeRun {
	f := freezer.ForTest(t, "zkfence-deadman-test", v2)
	slots := filepath.Join(t.TempDir(), "slots")
	if err := os.WriteFile(slots, make([]byte, 16), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "800")
	cmd.Env = append(os.Environ(), helperEnv+"=wrapper", slotsEnv+"="+slots)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Thaw(); _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if err := f.Add(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(stdin, "go")
	line, err := bufio.NewReader(stdout).ReadString('\n')
	var pid int
	var deadline int64 // CLOCK_MONOTONIC, ns
	if _, serr := fmt.Sscanf(line, "started %d %d", &pid, &deadline); err != nil || serr != nil {
		t.Fatalf("wrapper: %q %v", line, err)
	}
	var r freezeRun
	if err := f.Freeze(); err != nil {
		t.Fatal(err)
	}
	r.frozenAt = monotonic()
	if r.frozenAt >= deadline {
		// The tree died before the freeze: nothing would be tested.
		t.Fatalf("the freeze completed %s after the deadline (machine too loaded?)", time.Duration(r.frozenAt-deadline))
	}
	time.Sleep(time.Duration(deadline-r.frozenAt) + 1500*time.Millisecond)
	r.goneWhileFrozen = len(f.Procs()) == 0
	r.thawedAt = monotonic()
	if err := f.Thaw(); err != nil {
		t.Fatal(err)
	}
	for i := 0; len(f.Procs()) > 0; i++ {
		if i > 500 {
			t.Fatalf("guarded tree still alive 5 s after the thaw: %v", f.Procs())
		}
		time.Sleep(10 * time.Millisecond)
	}
	err = cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	r.wrapperKilled = ok && killedBySIGKILL(ee)
	r.lastRun = readSlots(slots)
	for _, last := range r.lastRun {
		if d := time.Duration(last - r.thawedAt); d > r.afterThaw {
			r.afterThaw = d
		}
	}
	return r
}

// TestFrozenTreeKilledWhileFrozenV2 is I1 under a whole-container freeze
// with the cgroup v2 freezer (docker pause on a cgroup v2 host): the kernel
// kills the wrapper, its namespace init and both spinners at the deadline,
// while they are frozen; none runs again.
func TestFrozenTreeKilledWhileFrozenV2(t *testing.T) {
	r := freezeGuardedTree(t, true)
	if !r.wrapperKilled {
		t.Error("the wrapper did not die of SIGKILL")
	}
	if !r.goneWhileFrozen {
		t.Error("processes of the guarded tree were still there before the thaw")
	}
	for i, last := range r.lastRun {
		if last > r.frozenAt {
			t.Errorf("spinner %d ran %s after the freeze was complete", i, time.Duration(last-r.frozenAt))
		}
	}
	if r.afterThaw > 0 {
		t.Errorf("a spinner ran %s after the thaw", r.afterThaw)
	}
}

// TestFrozenTreeKilledAtThawV1 is the same freeze with the cgroup v1 freezer,
// where a frozen process cannot exit before the thaw: the wrapper dies of its
// SIGKILL at the thaw and the tree follows. How long a spinner ran after the
// thaw is logged here and measured by BenchmarkThawWindowV1: it is the
// residual overlap on cgroup v1 hosts (README).
func TestFrozenTreeKilledAtThawV1(t *testing.T) {
	r := freezeGuardedTree(t, false)
	if !r.wrapperKilled {
		t.Error("the wrapper did not die of SIGKILL")
	}
	t.Logf("cgroup v1: a spinner ran %s after the thaw", r.afterThaw)
}

// BenchmarkThawWindowV1 measures, over b.N freezes (run it with
// -benchtime 20x), how long the guarded tree runs user-space code after a
// cgroup v1 thaw: the mean, the worst, and how many freezes let it run at all.
func BenchmarkThawWindowV1(b *testing.B) {
	var worst, sum time.Duration
	ran := 0
	for i := 0; i < b.N; i++ {
		r := freezeGuardedTree(b, false)
		if !r.wrapperKilled {
			b.Fatal("the wrapper did not die of SIGKILL")
		}
		sum += r.afterThaw
		worst = max(worst, r.afterThaw)
		if r.afterThaw > 0 {
			ran++
		}
	}
	b.ReportMetric(float64(sum.Microseconds())/float64(b.N), "µs-after-thaw/op")
	b.ReportMetric(float64(worst.Microseconds()), "µs-after-thaw-max")
	b.ReportMetric(float64(ran)/float64(b.N), "ran-after-thaw-fraction")
}
