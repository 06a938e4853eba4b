package supervise

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair: the master (the test's side) and the
// slave (the init's stdin, stdout, stderr and controlling terminal).
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

var ttyLine = regexp.MustCompile(`pid=(\d+) pgrp=(\d+) tpgid=(\d+) tty=(\d+)`)

// TestTTYHandedToChild: the init runs as a session leader whose controlling
// terminal is a pty, in the terminal's foreground group (like docker run -t).
// The child must find itself in its own process group, and that group in the
// terminal's foreground, with the terminal on its stdin/stdout. All three inits
// do this (dumb-init by making the child a session leader that takes the
// terminal).
func TestTTYHandedToChild(t *testing.T) {
	const probe = `read -r l < /proc/$$/stat; set -- $l; echo "pid=$1 pgrp=$5 tpgid=$8 tty=$7"; test -t 0 && test -t 1 && echo stdio-is-tty`
	for _, kind := range allInits {
		t.Run(string(kind), func(t *testing.T) {
			master, slave := openPTY(t)
			defer master.Close()
			var argv []string
			switch kind {
			case kindZkwrap:
				argv = []string{zkwrap, "--"}
			case kindTini:
				argv = []string{tini, "-s", "--"}
			case kindDumbInit:
				argv = []string{dumbInit, "--"}
			}
			cmd := exec.Command(argv[0], append(argv[1:], "sh", "-c", probe)...)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			slave.Close()
			out, _ := io.ReadAll(master) // EIO once every holder of the slave is gone
			if err := cmd.Wait(); err != nil {
				t.Fatalf("%v; output:\n%s", err, out)
			}
			m := ttyLine.FindStringSubmatch(string(out))
			if m == nil || !strings.Contains(string(out), "stdio-is-tty") {
				t.Fatalf("output:\n%s", out)
			}
			pid, pgrp, tpgid, tty := m[1], m[2], m[3], m[4]
			if pgrp != pid || tpgid != pgrp || tty == "0" {
				t.Errorf("child pid %s pgrp %s, terminal's foreground group %s, tty %s: want its own group in the foreground", pid, pgrp, tpgid, tty)
			}
		})
	}
}
