package images

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Exists reports whether the Docker engine has an image with this tag.
func Exists(ctx context.Context, tag string) (bool, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", tag)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && strings.Contains(strings.ToLower(stderr.String()), "no such image") {
			return false, nil
		}
		return false, fmt.Errorf("images: docker image inspect %s: %w: %s", tag, err, strings.TrimSpace(stderr.String()))
	}
	return true, nil
}

// Size is the size of an image in bytes, as `docker images` shows it.
func Size(ctx context.Context, tag string) (int64, error) {
	out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Size}}", tag).Output()
	if err != nil {
		return 0, fmt.Errorf("images: size of %s: %w", tag, err)
	}
	return strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
}

// buildOptions is one `docker build` whose context is a tar stream.
type buildOptions struct {
	tag        string            // none: an untagged image (a --target for the cache)
	target     string            // --target stage
	dockerfile string            // path inside the context
	args       map[string]string // --build-arg
	context    func(w io.Writer) error
	logf       func(string, ...any)
}

// dockerBuild runs `docker build -` with the context streamed on stdin, and
// logs the build's steps. On failure the error carries the end of its output.
func dockerBuild(ctx context.Context, o buildOptions) error {
	argv := []string{"build", "--force-rm", "-f", o.dockerfile}
	name := o.tag
	if o.tag != "" {
		argv = append(argv, "-t", o.tag)
	}
	if o.target != "" {
		argv = append(argv, "--target", o.target)
		name += "[" + o.target + "]"
	}
	keys := make([]string, 0, len(o.args))
	for k := range o.args {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		argv = append(argv, "--build-arg", k+"="+o.args[k])
	}
	argv = append(argv, "-")
	out := &lineLogger{logf: o.logf, prefix: name + ": ", keep: func(l string) bool {
		return strings.HasPrefix(l, "Step ") || strings.HasPrefix(l, "#") && strings.Contains(l, "[")
	}}
	pr, pw := io.Pipe()
	cmd := exec.CommandContext(ctx, "docker", argv...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pr, out, out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("images: docker build %s: %w", name, err)
	}
	werr := make(chan error, 1)
	go func() {
		err := o.context(pw)
		pw.CloseWithError(err)
		werr <- err
	}()
	err := cmd.Wait()
	pr.CloseWithError(io.ErrClosedPipe) // unblock the writer if docker stopped reading
	if cerr := <-werr; cerr != nil && err == nil {
		err = fmt.Errorf("writing the build context: %w", cerr)
	}
	if err != nil {
		return fmt.Errorf("images: docker build %s: %w\n%s", name, err, out.Tail())
	}
	return nil
}

// pruneOthers removes the tags of repo other than keep and the newest
// `spare` others, so that a tree that changes often does not fill the disk
// with images. Tags that containers still use stay (docker refuses), and
// errors are only logged: pruning is housekeeping.
func pruneOthers(ctx context.Context, repo, keep string, spare int, logf func(string, ...any)) {
	out, err := exec.CommandContext(ctx, "docker", "images", "--format", "{{.Repository}}:{{.Tag}}", repo).Output()
	if err != nil {
		return
	}
	var old []string
	for _, t := range strings.Fields(string(out)) { // newest first
		if t != keep && !strings.HasSuffix(t, ":<none>") && !strings.HasSuffix(t, ":latest") {
			old = append(old, t)
		}
	}
	if len(old) <= spare {
		return
	}
	for _, t := range old[spare:] {
		if err := exec.CommandContext(ctx, "docker", "rmi", t).Run(); err == nil {
			logf("removed the old image %s", t)
		}
	}
}

// pruneBuildStages removes the dangling images the Dockerfiles' build stages
// left behind more than an hour ago (each build of a changed tree leaves one,
// with the sources and a build cache). They descend from the local golang
// image, whose label they carry; the hour spares the stages of builds
// running now, whose runtime stage has yet to copy from them.
func pruneBuildStages(ctx context.Context, logf func(string, ...any)) {
	out, err := exec.CommandContext(ctx, "docker", "image", "prune", "-f",
		"--filter", "label="+golangLabel, "--filter", "until=1h").Output()
	if err == nil {
		if i := bytes.Index(out, []byte("Total reclaimed space: ")); i >= 0 && !bytes.Contains(out[i:], []byte(": 0B")) {
			logf("pruned old build stages: %s", strings.TrimSpace(string(out[i:])))
		}
	}
}

// ensureBuilt runs build unless the tag exists, under the tag's lock, and
// logs the time it took and the image's size.
func ensureBuilt(ctx context.Context, tag string, logf func(string, ...any), build func() error) error {
	if ok, err := Exists(ctx, tag); err != nil || ok {
		return err
	}
	unlock, err := lockImage(ctx, tag, logf)
	if err != nil {
		return err
	}
	defer unlock()
	if ok, err := Exists(ctx, tag); err != nil || ok {
		return err
	}
	t0 := time.Now()
	logf("%s: building", tag)
	if err := build(); err != nil {
		return err
	}
	size, _ := Size(ctx, tag)
	logf("%s: built in %s, %d MB", tag, time.Since(t0).Round(100*time.Millisecond), size>>20)
	return nil
}
