package images

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/moby/sys/mountinfo"
)

// policyRC keeps package scripts from starting services in the root file
// system (mariadb-server would start a server inside the chroot). It stays
// in the image, as in Docker's own Debian images.
const policyRC = "#!/bin/sh\nexit 101\n"

// buildRootfs writes the root file system of s into dir (an empty
// directory): debootstrap minbase, then apt-get install of the packages in
// a chroot with /proc mounted, then s.Setup, then cleanup of apt's caches.
func buildRootfs(ctx context.Context, s Spec, dir string) error {
	t0 := time.Now()
	s.Logf("%s: debootstrap --variant=minbase %s (from %s)", s.Name, s.Suite, s.Mirror)
	if err := run(ctx, s, "debootstrap", "--variant=minbase", s.Suite, dir, s.Mirror); err != nil {
		return err
	}
	s.Logf("%s: debootstrap done in %s", s.Name, time.Since(t0).Round(time.Second))
	sources := fmt.Sprintf("deb %[1]s %[2]s main\ndeb %[1]s %[2]s-updates main\ndeb %[3]s %[2]s-security main\n",
		s.Mirror, s.Suite, strings.TrimSuffix(s.Mirror, "/debian")+"/debian-security")
	if err := os.WriteFile(filepath.Join(dir, "etc/apt/sources.list"), []byte(sources), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "usr/sbin/policy-rc.d"), []byte(policyRC), 0o755); err != nil {
		return err
	}
	script := "export DEBIAN_FRONTEND=noninteractive\n" +
		"apt-get update -q\n" +
		"apt-get upgrade -y -q\n"
	if len(s.Packages) > 0 {
		script += "apt-get install -y -q --no-install-recommends " + strings.Join(s.Packages, " ") + "\n"
	}
	script += s.Setup + "\n" +
		"apt-get clean\n" +
		"rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* /var/log/*.log /var/log/apt/*\n" +
		": > /etc/resolv.conf\n"
	t1 := time.Now()
	s.Logf("%s: apt-get install %s", s.Name, strings.Join(s.Packages, " "))
	if err := inChroot(ctx, s, dir, script); err != nil {
		return err
	}
	s.Logf("%s: packages installed in %s", s.Name, time.Since(t1).Round(time.Second))
	return nil
}

// inChroot runs script with /bin/sh -e in the root file system dir, with
// /proc mounted there for the duration (a JRE's postinst runs java, which
// needs it).
func inChroot(ctx context.Context, s Spec, dir, script string) error {
	proc := filepath.Join(dir, "proc")
	if err := syscall.Mount("proc", proc, "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("images: mount proc in %s: %w", dir, err)
	}
	defer func() {
		if err := syscall.Unmount(proc, 0); err != nil {
			syscall.Unmount(proc, syscall.MNT_DETACH)
		}
	}()
	return run(ctx, s, "chroot", dir, "/bin/sh", "-ec", script)
}

// run runs a command whose output is logged only when it fails (apt and
// debootstrap are chatty); a line every 30 s says it is still going.
func run(ctx context.Context, s Spec, name string, args ...string) error {
	out := &lineLogger{logf: s.Logf, keep: func(string) bool { return false }}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.WaitDelay = 10 * time.Second
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for start := time.Now(); ; {
			select {
			case <-done:
				return
			case <-t.C:
				s.Logf("%s: %s still running (%s)", s.Name, name, time.Since(start).Round(time.Second))
			}
		}
	}()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("images: %s %s: %w\n%s", name, strings.Join(args, " "), err, out.Tail())
	}
	return nil
}

// mountsUnder lists the mount points at or below dir, deepest first (the
// reverse of the mount table's order, which is the order they were made).
func mountsUnder(dir string) ([]string, error) {
	m, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return nil, err
	}
	var found []string
	for _, i := range m {
		found = append([]string{i.Mountpoint}, found...)
	}
	return found, nil
}

// removeRootfs removes a root file system this package made, but only once
// nothing is mounted below it: a failed debootstrap can leave /proc or /sys
// mounted there, and removing through those would be a disaster. What
// cannot be unmounted is left in place and reported.
func removeRootfs(dir string) error {
	mounts, err := mountsUnder(dir)
	if err != nil {
		return fmt.Errorf("images: not removing %s: reading the mount table: %w", dir, err)
	}
	for _, m := range mounts {
		if err := syscall.Unmount(m, 0); err != nil {
			syscall.Unmount(m, syscall.MNT_DETACH)
		}
	}
	if mounts, err = mountsUnder(dir); err != nil || len(mounts) > 0 {
		return fmt.Errorf("images: not removing %s: still mounted below it: %v %v", dir, mounts, err)
	}
	if err := os.RemoveAll(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("images: removing %s: %w", dir, err)
	}
	return nil
}
