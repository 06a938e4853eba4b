package supervise

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/zkfence/zkfence/internal/fstest"
)

// initKind names one of the inits compared side by side: zkwrap (built on
// this package), and Debian's tini and dumb-init.
type initKind string

const (
	kindZkwrap   initKind = "zkwrap"
	kindTini     initKind = "tini"
	kindDumbInit initKind = "dumb-init"
)

var allInits = []initKind{kindZkwrap, kindTini, kindDumbInit}

// initRun is one init running a child, as PID 1 of a new PID namespace or as
// a plain process.
type initRun struct {
	cmd  *exec.Cmd
	out  outputFile
	pid1 bool
}

// startInit runs child under kind. With pid1 it runs under
// "unshare --pid --fork --mount-proc", so that the init is PID 1 of a new PID
// namespace with its own /proc; otherwise as a plain process, where tini gets
// -s to be a subreaper like zkwrap (dumb-init cannot be one). flags go to the
// init before "--".
func startInit(t *testing.T, kind initKind, pid1 bool, flags []string, child ...string) *initRun {
	t.Helper()
	var argv []string
	switch kind {
	case kindZkwrap:
		argv = []string{zkwrap}
	case kindTini:
		argv = []string{tini}
		if !pid1 {
			argv = append(argv, "-s")
		}
	case kindDumbInit:
		argv = []string{dumbInit}
	}
	argv = append(append(argv, flags...), "--")
	return startArgv(t, pid1, append(argv, child...)...)
}

// startArgv runs argv, under unshare when pid1.
func startArgv(t *testing.T, pid1 bool, argv ...string) *initRun {
	t.Helper()
	if pid1 {
		argv = append([]string{"unshare", "--pid", "--fork", "--mount-proc"}, argv...)
	}
	// Output goes to a file, not a pipe: with a pipe, Wait would also wait
	// for every process that inherited it (a surviving grandchild) to exit.
	out, err := os.Create(filepath.Join(t.TempDir(), "output"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	r := &initRun{cmd: exec.Command(argv[0], argv[1:]...), out: outputFile(out.Name()), pid1: pid1}
	r.cmd.Stdout, r.cmd.Stderr = out, out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A test that failed half way leaves the init running: its whole tree
	// goes, so that the next tests do not find it (they check that the test
	// process has no descendant left).
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil {
			killTree(r.cmd.Process.Pid, func() { _ = r.cmd.Wait() })
		}
	})
	return r
}

// initPid is the init's pid as seen by the test: unshare's child when pid1.
func (r *initRun) initPid(t *testing.T) int {
	t.Helper()
	if !r.pid1 {
		return r.cmd.Process.Pid
	}
	pid := 0
	waitFor(t, "the namespace's init", func() bool {
		tree, err := scanTree(r.cmd.Process.Pid, nil)
		if err == nil && len(tree) > 0 {
			pid = tree[0].pid
		}
		return pid != 0
	})
	return pid
}

// signal sends sig to the init, from outside its namespace as docker kill
// does.
func (r *initRun) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(r.initPid(t), sig); err != nil {
		t.Fatal(err)
	}
}

// wait waits for the init to exit and returns its exit code (unshare passes
// it through).
func (r *initRun) wait() int {
	return fstest.ExitStatus(r.cmd.Wait())
}

// runInit runs child under kind to the end and returns its exit code and
// output.
func runInit(t *testing.T, kind initKind, pid1 bool, flags []string, child ...string) (int, string) {
	t.Helper()
	r := startInit(t, kind, pid1, flags, child...)
	code := r.wait()
	return code, r.out.String()
}

// outputFile is where an init's stdout and stderr go.
type outputFile string

func (f outputFile) String() string {
	b, _ := os.ReadFile(string(f))
	return string(b)
}
