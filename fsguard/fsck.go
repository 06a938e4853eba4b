package fsguard

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/zkfence/zkfence/internal/heldexec"
)

// maxCheckerOutput bounds the checker output kept for the error message
// (its end, where the verdict is).
const maxCheckerOutput = 8 << 10

// verdict is what a checker's exit means for the mount.
type verdict int

const (
	verdictOK     verdict = iota
	verdictWarn           // continue, with a warning
	verdictReplay         // xfs: the log must be replayed by a mount, then check again
	verdictRefuse         // do not mount
)

// checker is how one filesystem type is checked before it is mounted.
type checker struct {
	program string
	args    []string // the device is appended
	judge   func(code int, out string) (verdict, string)
}

// checkers, by fstype. ext2/3/4: `e2fsck -p` (preen: fixes what is safe to
// fix without a human). xfs: `xfs_repair -n` (fsck.xfs does nothing by
// design; -n only reads). Any other type is refused in block device mode:
// the issue asks for a check before every mount, and a type without a
// checker here cannot have one.
var checkers = map[string]checker{
	"ext2": e2fsck, "ext3": e2fsck, "ext4": e2fsck,
	"xfs": {program: "xfs_repair", args: []string{"-n"}, judge: judgeXFSRepair},
}

var e2fsck = checker{program: "e2fsck", args: []string{"-p"}, judge: judgeFsck}

// Checkers lists the filesystem types block device mode can check and mount.
func Checkers() []string {
	var out []string
	for t := range checkers {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

func checkerFor(fstype string) (checker, bool) {
	c, ok := checkers[fstype]
	return c, ok
}

// judgeFsck reads fsck(8)'s exit code, a sum of: 1 errors corrected, 2
// corrected and a reboot is needed (meant for the root filesystem: here a
// warning), 4 errors left uncorrected, 8 operational error, 16 usage error,
// 32 cancelled, 128 shared library error. 0 and 1 continue, 2 and 3 continue
// with a warning, anything with 4 or more refuses.
func judgeFsck(code int, _ string) (verdict, string) {
	switch {
	case code < 0:
		return verdictRefuse, "killed"
	case code == 0:
		return verdictOK, "clean"
	case code == 1:
		return verdictOK, "errors corrected"
	case code < 4:
		return verdictWarn, "errors corrected; the checker asks for a reboot"
	case code&4 != 0:
		return verdictRefuse, "errors left uncorrected: run the checker by hand"
	case code&32 != 0:
		return verdictRefuse, "check cancelled"
	}
	return verdictRefuse, "the checker failed to run"
}

// xfsDirtyLog is what xfs_repair prints when the log holds metadata changes
// not yet written in place: the normal state after a crash, which a mount
// replays. Until it is replayed, -n reports spurious inconsistencies.
const xfsDirtyLog = "metadata changes in a log"

// judgeXFSRepair reads `xfs_repair -n`: 0 clean, 1 corruption found. A dirty
// log is replayed by a mount and the check run again (prepare.go), so that a
// failover after a crash is not refused for a log it only has to replay.
func judgeXFSRepair(code int, out string) (verdict, string) {
	switch {
	case code == 0:
		return verdictOK, "clean"
	case code == 1 && strings.Contains(out, xfsDirtyLog):
		return verdictReplay, "the log must be replayed first"
	case code == 1:
		return verdictRefuse, "corruption found: run xfs_repair by hand"
	}
	return verdictRefuse, "the checker failed"
}

// checkResult is one run of a checker.
type checkResult struct {
	Command string
	Code    int
	Output  string // the end of stdout and stderr
	Verdict verdict
	Meaning string
	Took    time.Duration
}

func (r checkResult) err() error {
	return refusef("%s exited %d (%s):\n%s", r.Command, r.Code, r.Meaning, strings.TrimSpace(r.Output))
}

// runChecker runs c on the device, under the lock (package heldexec): when
// ctx ends (the lease is lost, or the run is interrupted) the checker's whole
// group gets SIGKILL at once, and the result is a refusal. A checker killed
// mid-repair is a crash as far as the filesystem is concerned; the next
// holder checks it again.
func runChecker(ctx context.Context, c checker, dev string, log *slog.Logger) (checkResult, error) {
	prog, err := findTool(c.program)
	if err != nil {
		return checkResult{}, refusef("check %s: %w", dev, err)
	}
	cmd := heldexec.Command(ctx, prog, append(slices.Clone(c.args), dev)...)
	out := &tailBuffer{max: maxCheckerOutput}
	cmd.Stdout, cmd.Stderr = out, out
	r := checkResult{Command: strings.Join(cmd.Args, " ")}
	log.Info("checking filesystem", "command", r.Command)
	start := time.Now()
	runErr := heldexec.Run(cmd)
	r.Took, r.Output = time.Since(start), out.String()
	if ctx.Err() != nil {
		return r, refusef("%s stopped: %w", r.Command, context.Cause(ctx))
	}
	if runErr != nil && cmd.ProcessState == nil {
		return r, refusef("%s: %w", r.Command, runErr)
	}
	r.Code = cmd.ProcessState.ExitCode()
	r.Verdict, r.Meaning = c.judge(r.Code, r.Output)
	return r, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	b   []byte
	cut bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b, t.cut = t.b[over:], true
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	if t.cut {
		return fmt.Sprintf("[...]%s", t.b)
	}
	return string(t.b)
}
