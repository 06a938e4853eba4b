package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zkfence/zkfence/exitcode"
	"github.com/zkfence/zkfence/internal/fstest"
)

// nodeAgent fences "nodes" that are process groups on this machine (issue
// 17's network-block-device takeover). For plug P it reads P.pgid and P.mnt
// from its directory. off powers the node off: SIGKILL to its process group,
// then its kernel's hold on the device goes as at a power cut: the ext4
// mount it left is shut down without flushing its log (FS_IOC_SHUTDOWN with
// NOLOGFLUSH, made by the test binary itself, fsShutdownEnv: xfs_io walks
// every mount of the host first, and hung for 30 s on another test's frozen
// FUSE mount): what it had not written is lost, nothing more reaches the
// device. Then it is unmounted, never lazily, and its loop device (the
// node's attachment) detached. status: 2 (off) once no
// process of the group is left and nothing is mounted.
const nodeAgent = `
case "$action" in monitor|on) exit 0;; esac
case "$plug" in ''|*[!a-z0-9-]*) echo "bad plug" >&2; exit 1;; esac
[ -f "$dir/$plug.pgid" ] || { echo "unknown node $plug" >&2; exit 1; }
pg=$(cat "$dir/$plug.pgid")
case "$action" in
off)
	trace() { echo "$(date +%T.%N) off $plug: $*" >> "$dir/trace.log"; }
	trace start
	kill -KILL -- "-$pg" 2>/dev/null
	mnt=$(cat "$dir/$plug.mnt")
	if mountpoint -q "$mnt"; then
		trace "shutting down $mnt"
		ZKFENCE_TEST_FS_SHUTDOWN="$mnt" "$testbin" </dev/null >/dev/null 2>&1 & io=$!
		n=0
		while kill -0 "$io" 2>/dev/null && [ "$n" -lt 100 ]; do
			sleep 0.1; n=$((n+1))
			[ $((n % 20)) -eq 0 ] && trace "shutdown $io still running: $(cat /proc/$io/wchan 2>/dev/null) $(tr '\n' ' ' < /proc/$io/stack 2>/dev/null)"
		done
		wait "$io" || exit 1
		trace unmounting
		# Never lazily: a detached mount lives on until its last user
		# lets go, and its last close of the device writes the blocks
		# this kernel still holds dirty over the next holder's (a real
		# power cut leaves nothing behind). Its killed processes may
		# take a moment to let go; still busy after 10 s is a failed
		# fence.
		n=0
		until umount "$mnt" 2>/dev/null; do
			n=$((n+1))
			if [ "$n" -ge 100 ]; then
				trace "still busy after 10 s: $(fuser -vm "$mnt" 2>&1 | tr '\n' ' ')"
				exit 1
			fi
			sleep 0.1
		done
		[ "$n" -gt 0 ] && trace "unmounted after $n busy tries"
	fi
	# The node's attachment goes too, now, as at a power cut. Left bound,
	# the device's last close (its detach, later) writes back the blocks
	# the shut-down mount left dirty in this kernel's cache for it: the
	# dead node's stale metadata, landing over what the next holder wrote
	# meanwhile (one kernel plays both nodes here; a node that lost power
	# keeps no cache). Detached during the fence, whatever it writes lands
	# before the next holder attaches, as if node-a had died a moment
	# later, and the next holder's e2fsck replays the journal over it.
	if [ -f "$dir/$plug.loop" ]; then
		loop=$(cat "$dir/$plug.loop")
		trace "detaching $loop"
		losetup -d "$loop" 2>/dev/null || true
		n=0
		while losetup "$loop" >/dev/null 2>&1; do
			n=$((n+1))
			if [ "$n" -ge 100 ]; then
				trace "$loop still bound after 10 s"
				exit 1
			fi
			sleep 0.1
		done
		rm -f "$dir/$plug.loop"
	fi
	trace done
	exit 0;;
status)
	if kill -0 -- "-$pg" 2>/dev/null || mountpoint -q "$(cat "$dir/$plug.mnt")"; then exit 0; fi
	exit 2;;
esac
exit 1
`

// The attach and detach commands: losetup stands for nbd-client, the
// image file for the export that every node reaches. Each node attaches it
// as a loop device of its own; ZKFENCE_DEVICE is a symlink the attach
// command points at it (a fixed name, as /dev/nbd0 is).
const (
	nbdAttach = `set -e
loop=$(losetup --show -f "$IMAGE")
echo "$loop" > "$STATE/$NODE.loop"
ln -sfn "$loop" "$ZKFENCE_DEVICE"`
	nbdDetach = `set -e
losetup -d "$(cat "$STATE/$NODE.loop")"
rm -f "$ZKFENCE_DEVICE" "$STATE/$NODE.loop"`
)

// nbdChild appends "<token> <n>" lines to the device, each fsynced before
// it is acknowledged in $ACKS (outside the device).
const nbdChild = `i=0
while :; do
  i=$((i+1))
  echo "$ZKFENCE_TOKEN $i" >> "$MNT/log" && sync "$MNT/log" || exit 1
  echo "$ZKFENCE_TOKEN $i" >> "$ACKS"; sleep 0.01
done`

// TestNetworkBlockDeviceTakeover: two nodes share a block device (an image
// file attached with losetup, the stand-in for nbd-client). The holder is
// killed (SIGKILL) with the device attached and mounted; the next holder
// fences it (its agent kills the node's processes and cuts its mount as a
// power cut would), attaches the device, checks it (e2fsck -p replays the
// journal) and mounts it. Five times: every acknowledged line is on the
// device each time, and after the new holder's clean stop e2fsck -fn finds
// the file system clean.
func TestNetworkBlockDeviceTakeover(t *testing.T) {
	needBinaryAndZK(t)
	for _, tool := range []string{"losetup", "mkfs.ext4", "e2fsck", "debugfs", "mountpoint"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s: %v", tool, err)
		}
	}
	p, dir := lockPath(t), t.TempDir()
	image := filepath.Join(dir, "export.img")
	mustRun(t, "truncate", "-s", "64M", image)
	mustRun(t, "mkfs.ext4", "-q", "-F", image)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	agent, state := writeAgent(t, "testbin='"+self+"'\n"+nodeAgent)
	acks := filepath.Join(dir, "acks")
	t.Cleanup(func() {
		// A failed round may leave a node's mount behind: take it away so
		// that no later test finds it (nor its loop device) on this host.
		for _, n := range []string{"node-a", "node-b"} {
			if mnt := filepath.Join(dir, n); fstest.IsMountPoint(mnt) {
				exec.Command("umount", "-l", mnt).Run()
			}
		}
		detachAll(image)
		if t.Failed() {
			trace, _ := os.ReadFile(filepath.Join(state, "trace.log"))
			t.Logf("the agent's steps:\n%s", trace)
		}
	})

	node := func(name string) *wrapper {
		mnt, dev := filepath.Join(dir, name), filepath.Join(dir, "dev-"+name)
		if err := os.MkdirAll(mnt, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(state, name+".mnt"), []byte(mnt), 0o644); err != nil {
			t.Fatal(err)
		}
		env := []string{"IMAGE=" + image, "STATE=" + state, "NODE=" + name, "MNT=" + mnt, "ACKS=" + acks}
		w := startNodeWrapper(t, env, runArgs(server.Addr(), p, "--fence-id", name, "--fence-agent", agent,
			"--fence-required", "--fence-timeout", "30s",
			"--device", dev, "--mount", mnt, "--fstype", "ext4", "--claim-volume",
			"--attach-cmd", nbdAttach, "--detach-cmd", nbdDetach, "--", "sh", "-c", nbdChild)...)
		if err := os.WriteFile(filepath.Join(state, name+".pgid"), []byte(strconv.Itoa(w.cmd.Process.Pid)), 0o644); err != nil {
			t.Fatal(err)
		}
		return w
	}

	for round := 1; round <= 5; round++ {
		r := strconv.Itoa(round)
		a := node("node-a")
		a.waitLog(`msg="child started"`, 30*time.Second)
		tokA := waitAcks(t, acks, a, 20)
		b := node("node-b")
		b.waitLog(`msg="waiting for the lock"`, 20*time.Second)

		// node-a dies with the device attached and mounted.
		a.cmd.Process.Kill()
		killed := time.Now()
		a.wait(10 * time.Second)
		if !fstest.IsMountPoint(filepath.Join(dir, "node-a")) {
			t.Fatalf("round %s: node-a's mount went with its zkfence: nothing left to fence", r)
		}
		fenced := b.waitLog(`msg="previous holder fenced`, 40*time.Second)
		attached := b.waitLog(`msg="attach command done"`, 30*time.Second)
		started := b.waitLog(`msg="child started"`, 30*time.Second)
		if attached.Before(fenced) {
			t.Fatalf("round %s: node-b attached the device at %v, before node-a was fenced at %v", r, attached, fenced)
		}
		tokB := waitAcks(t, acks, b, 10)
		// Every line acknowledged so far is on node-b's mount.
		if torn := checkAcked(t, "round "+r+", node-b's mount", readFile(t, filepath.Join(dir, "node-b", "log")), acks); len(torn) > 0 {
			t.Logf("round %s: unacknowledged torn lines left by the power cut: %q", r, torn)
		}

		b.signal(syscall.SIGTERM)
		// The child dies of the forwarded SIGTERM (143); a release that
		// failed (device not unmounted or not detached) would be 95.
		if code := b.wait(20 * time.Second); code != exitcode.SignalBase+int(syscall.SIGTERM) {
			t.Fatalf("round %s: node-b exited %d after SIGTERM, want 143\n%s", r, code, b.log())
		}
		if out, err := exec.Command("e2fsck", "-fn", image).CombinedOutput(); err != nil {
			t.Fatalf("round %s: e2fsck -fn: %v\n%s", r, err, out)
		}
		checkAcked(t, "round "+r+", the image", mustRun(t, "debugfs", "-R", "cat /log", image), acks)
		if calls := agentCalls(t, state); !slices.Contains(calls, "off node-a") {
			t.Fatalf("round %s: agent calls %q: no off for node-a", r, calls)
		}
		detachAll(image) // anything a failed fence left bound
		os.Remove(filepath.Join(state, "calls.log"))
		took := regexp.MustCompile(`previous holder fenced.* took=(\S+)`).FindStringSubmatch(b.log())
		t.Logf("round %s: node-a (token %s) killed, fenced (agent %s), node-b (token %s) attached, checked, mounted %v after the kill; all %d acknowledged lines of every round intact; e2fsck -fn clean",
			r, tokA, took[1], tokB, started.Sub(killed).Round(time.Millisecond), len(strings.Fields(readFile(t, acks)))/2)
	}
}

// waitAcks waits for n acknowledged lines of w's token and returns it.
func waitAcks(t *testing.T, acks string, w *wrapper, n int) string {
	t.Helper()
	m := childToken.FindStringSubmatch(w.log())
	if m == nil {
		t.Fatalf("no token in the child's start line\n%s", w.log())
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		data, _ := os.ReadFile(acks)
		if strings.Count("\n"+string(data), "\n"+m[1]+" ") >= n {
			return m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("fewer than %d acknowledged lines of token %s", n, m[1])
	return ""
}

// checkAcked fails unless every line of acks (every round's) is in log, and
// log's tokens never go down. It returns the lines of log that are not
// "<token> <n>": the torn end of a write the crashed holder never
// acknowledged (a power cut may leave zeros where data was not written).
func checkAcked(t *testing.T, where, log, acks string) (torn []string) {
	t.Helper()
	have := map[string]bool{}
	var last int64
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		if trimmed := strings.TrimLeft(line, "\x00"); trimmed != line {
			torn = append(torn, fmt.Sprintf("%d zero bytes", len(line)-len(trimmed)))
			line = trimmed
		}
		m := ackLine.FindStringSubmatch(line)
		if m == nil {
			torn = append(torn, line)
			continue
		}
		have[line] = true
		tok, _ := strconv.ParseInt(m[1], 10, 64)
		if tok < last {
			t.Fatalf("%s: token %d after %d", where, tok, last)
		}
		last = tok
	}
	var missing []string
	for _, line := range strings.Split(strings.TrimSpace(readFile(t, acks)), "\n") {
		if !have[line] {
			missing = append(missing, line)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%s: %d acknowledged lines missing: %q\nthe log there ends with %q", where, len(missing), missing, tail(log, 400))
	}
	return torn
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

var ackLine = regexp.MustCompile(`^([0-9]+) [0-9]+$`)

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// detachAll detaches every loop device of image (best effort).
func detachAll(image string) {
	out, _ := exec.Command("losetup", "-j", image).Output()
	for _, line := range strings.Split(string(out), "\n") {
		if dev, _, ok := strings.Cut(line, ":"); ok {
			exec.Command("losetup", "-d", dev).Run()
		}
	}
}

var childToken = regexp.MustCompile(`msg="child started" pid=\d+ .*token=(\d+)`)
