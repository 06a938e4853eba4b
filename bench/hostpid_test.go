package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestHolderChildIsHostPid: a child in a PID namespace of its own (as under
// zkfence's freeze guard) stamps its own pid, which is 1 there. The bench
// must act on its host pid: holderChild finds that pid, alive follows the
// process, and kill ends it. Before the fix the bench took the stamp's pid,
// reported a dead child as running and SIGKILLed host group -1.
func TestHolderChildIsHostPid(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED LOUDLY: a PID namespace needs root")
	}
	bin, err := childBin()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(runCleanups)
	dir := t.TempDir()
	// A wrapper carries the child's arguments, marker included: not the child.
	wrapper := exec.Command("sh", "-c", "sleep 60", "sh", dir+"/a-start")
	if err := wrapper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wrapper.Process.Kill(); wrapper.Wait() })
	cmd := exec.Command(bin, "-start", dir+"/a-start", "-sleep", "1m")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID, Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	_, stamped, err := readStamp(filepath.Join(dir, "a-start"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	h, err := holderChild(bin, dir)
	if err != nil {
		t.Fatal(err)
	}
	if h.pid != cmd.Process.Pid {
		t.Fatalf("holder child pid %d, want the host pid %d (its stamp says %d)", h.pid, cmd.Process.Pid, stamped)
	}
	if stamped == h.pid {
		t.Fatalf("the stamp holds the host pid %d: the child is not in a PID namespace of its own", stamped)
	}
	if !h.alive() {
		t.Fatal("a running child reported dead")
	}
	h.kill()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("kill did not end the child")
	}
	if h.alive() {
		t.Fatal("a dead child reported alive")
	}
}

// TestAliveRefusesAReusedPid: a pid whose process no longer carries the
// marker is not the holder's child.
func TestAliveRefusesAReusedPid(t *testing.T) {
	if (hostProc{pid: os.Getpid(), argv0: os.Args[0], marker: "/no/such/marker"}).alive() {
		t.Fatal("a process without the marker counted as the holder's child")
	}
}
