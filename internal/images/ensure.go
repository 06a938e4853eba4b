package images

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// importChanges are the image settings `docker import` gives a base: the
// PATH and locale of Docker's Debian images, and a shell as the command.
var importChanges = []string{
	"ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"ENV LANG=C.UTF-8",
	`CMD ["/bin/bash"]`,
}

// Ensure returns the tag of the base image s, building it first when the
// Docker engine does not have it: debootstrap into a temporary directory,
// apt-get install, `docker import`. Concurrent calls for the same image, in
// this process or others, build it once; the others wait and reuse it.
func Ensure(ctx context.Context, s Spec) (string, error) {
	s, err := s.withDefaults()
	if err != nil {
		return "", err
	}
	tag := s.Tag()
	if ok, err := Exists(ctx, tag); err != nil || ok {
		return tag, err
	}
	unlock, err := lockImage(ctx, tag, s.Logf)
	if err != nil {
		return "", err
	}
	defer unlock()
	if ok, err := Exists(ctx, tag); err != nil || ok { // built while we waited
		return tag, err
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("images: building %s needs root (debootstrap, chroot, mount)", tag)
	}
	for _, tool := range []string{"debootstrap", "chroot", "tar", "docker"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", fmt.Errorf("images: building %s needs %s: %w (apt-get install debootstrap docker.io)", tag, tool, err)
		}
	}
	t0 := time.Now()
	s.Logf("%s: not found; building it (a few minutes, once per machine)", tag)
	dir, err := os.MkdirTemp("", "zkfence-rootfs-"+s.Name+"-")
	if err != nil {
		return "", err
	}
	defer func() {
		if err := removeRootfs(dir); err != nil {
			s.Logf("%v", err)
		}
	}()
	if err := buildRootfs(ctx, s, dir); err != nil {
		return "", err
	}
	if err := importRootfs(ctx, s, dir, tag); err != nil {
		return "", err
	}
	size, _ := Size(ctx, tag)
	s.Logf("%s: built in %s, %d MB", tag, time.Since(t0).Round(time.Second), size>>20)
	return tag, nil
}

// importRootfs streams dir as a tar archive into `docker import`.
func importRootfs(ctx context.Context, s Spec, dir, tag string) error {
	t0 := time.Now()
	tarCmd := exec.CommandContext(ctx, "tar", "-C", dir, "--numeric-owner", "--xattrs", "-cf", "-", ".")
	args := []string{"import"}
	for _, c := range importChanges {
		args = append(args, "--change", c)
	}
	args = append(args, "-", tag)
	imp := exec.CommandContext(ctx, "docker", args...)
	// An explicit pipe whose ends this process closes once both commands
	// have them: if docker stops reading, tar gets EPIPE instead of blocking.
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	tarErr := &lineLogger{logf: s.Logf, keep: func(string) bool { return false }}
	impOut := &lineLogger{logf: s.Logf, keep: func(string) bool { return false }}
	tarCmd.Stdout, tarCmd.Stderr = pw, tarErr
	imp.Stdin, imp.Stdout, imp.Stderr = pr, impOut, impOut
	terr := tarCmd.Start()
	pw.Close()
	if terr != nil {
		pr.Close()
		return fmt.Errorf("images: tar %s: %w", dir, terr)
	}
	ierr := imp.Start()
	pr.Close()
	if ierr == nil {
		ierr = imp.Wait()
	}
	terr = tarCmd.Wait()
	if ierr != nil {
		return fmt.Errorf("images: docker import %s: %w\n%s", tag, ierr, impOut.Tail())
	}
	if terr != nil {
		return fmt.Errorf("images: tar %s: %w\n%s", dir, terr, tarErr.Tail())
	}
	s.Logf("%s: imported in %s", tag, time.Since(t0).Round(time.Second))
	return nil
}
