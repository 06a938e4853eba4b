//go:build chaos

package chaos

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zkfence/zkfence/internal/dockerproxy"
)

// fenceDir is where the fence agent's TLS files are inside a node.
const fenceDir = "/fence"

// dockerFence is the Docker API as the nodes' fence_docker reaches it
// (internal/dockerproxy): a TLS listener of the test process on the suite
// network's gateway address, with client certificates (the Docker API is
// root on the host), forwarding to the Docker socket only what fencing one
// of the suite's nodes needs: the container list (filtered down to the
// suite's nodes), and inspect and kill of a suite node. Anything else, or
// anything from outside the suite's subnet, is refused. Its requests record
// every kill.
type dockerFence struct {
	*dockerproxy.Proxy
	dir    string // host directory of ca.pem, cert.pem, key.pem (bind-mounted at fenceDir)
	subnet string
	isNode func(cid string) bool
}

// startDockerFence listens on the suite network's gateway. Nodes started
// afterwards get fence_docker configured (nodeFenceArgs).
func (s *suite) startDockerFence() {
	dir, err := os.MkdirTemp("", "zkfence-chaos-fence-")
	s.must(err)
	s.root.Cleanup(func() { os.RemoveAll(dir) })
	s.must(os.Chmod(dir, 0o755))
	d := &dockerFence{dir: dir, subnet: s.subnet + ".", isNode: func(cid string) bool {
		_, ok := s.nodeOfCID(cid)
		return ok
	}}
	d.Proxy, err = dockerproxy.Start(dockerproxy.Config{Listen: s.subnet + ".1:0", Dir: dir, Allow: d.allow, ModifyList: d.onlyNodes})
	s.must(err)
	s.root.Cleanup(d.Close)
	s.fence = d
}

// nodeFenceArgs are the fence agent flags of zkfence run and check in a
// node: the real fence_docker, every node's fence id its container ID (the
// default), fencing required (a node that cannot fence the previous holder
// starts nothing, exit 96, and the suite starts it again).
//
// shell_timeout bounds each of fence_docker's HTTP requests (3 s by
// default), and Docker answers a kill only once the container has exited:
// on the loaded 2-core test machine a frozen container took longer than
// that to die, and the agent failed with "Connection failed". power_timeout
// (20 s by default) is how long off waits for the container to be reported
// off.
func (d *dockerFence) nodeFenceArgs() []string {
	args := []string{"--fence-agent", "fence_docker", "--fence-required", "--fence-timeout", "60s"}
	for _, o := range []string{"ip=" + d.Host, "ipport=" + d.Port, "ssl_secure=1",
		"tlscacert=" + fenceDir + "/ca.pem", "tlscert=" + fenceDir + "/cert.pem", "tlskey=" + fenceDir + "/key.pem",
		"api_version=1.41", "shell_timeout=20", "power_timeout=40"} {
		args = append(args, "--fence-option", o)
	}
	return args
}

// allow is the suite's policy: requests from its subnet only; the list,
// inspect of a node, and kill of a node with SIGKILL (no signal parameter).
func (d *dockerFence) allow(r dockerproxy.Request) bool {
	from, _, _ := net.SplitHostPort(r.RemoteAddr)
	switch {
	case !strings.HasPrefix(from, d.subnet):
		return false
	case r.ID == "": // the list
		return r.Method == http.MethodGet
	case r.Op == "json":
		return r.Method == http.MethodGet && d.isNode(r.ID)
	case r.Op == "kill":
		return r.Method == http.MethodPost && d.isNode(r.ID) && r.URL.RawQuery == ""
	}
	return false
}

// onlyNodes filters the container list down to the suite's nodes.
func (d *dockerFence) onlyNodes(resp *http.Response) error {
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	resp.Body.Close()
	if err != nil {
		return err
	}
	var all []map[string]any
	if err := json.Unmarshal(body, &all); err != nil {
		return err
	}
	var mine []map[string]any
	for _, c := range all {
		if id, _ := c["Id"].(string); d.isNode(id) {
			mine = append(mine, c)
		}
	}
	if body, err = json.Marshal(mine); err != nil {
		return err
	}
	if mine == nil {
		body = []byte("[]")
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// killsSince are the kills fence_docker asked for since t, by node label.
func (d *dockerFence) killsSince(t time.Time, label func(string) string) []string {
	var out []string
	for _, r := range d.Requests() {
		if !r.Refused && r.Op == "kill" && r.At.After(t) {
			out = append(out, label(r.ID))
		}
	}
	return out
}

func (d *dockerFence) refusedRequests() []string {
	var out []string
	for _, r := range d.Requests() {
		if r.Refused {
			out = append(out, r.From+" "+r.Method+" "+r.URL)
		}
	}
	return out
}

// fenceTookRe matches zkfence's log line for a confirmed fence; took= is the
// agent's time (off and its confirmation).
var fenceTookRe = regexp.MustCompile(`previous holder fenced.*took=([0-9.]+[a-zµ]+)`)

// A fast takeover fences the holder before it takes the lock: the agent's
// line (agentOffRe) comes first, then the takeover's (takeoverRe), with the
// time from the first failed probe to the holder's node deleted.
var (
	agentOffRe = regexp.MustCompile(`fenced: confirmed off.*took=([0-9.]+[a-zµ]+)`)
	takeoverRe = regexp.MustCompile(`fast takeover: the holder did not answer.*since_first_failed_probe=([0-9.]+[a-zµ]+)`)
)

// trialLogs is what the nodes logged since t: the agents' times of
// confirmed fences (a fast takeover's included), the fast takeovers, the
// FENCING FAILED / fencing failed lines, and the PANIC lines (a database
// that found its data broken).
func (s *suite) trialLogs(t time.Time) (took, takeovers []time.Duration, fenceFailed int, panics []string) {
	for _, n := range s.nodes {
		lastOff := time.Duration(-1)
		for _, line := range strings.Split(n.logsSince(t), "\n") {
			if m := fenceTookRe.FindStringSubmatch(line); m != nil {
				if d, err := time.ParseDuration(m[1]); err == nil {
					took = append(took, d)
				}
			}
			if m := agentOffRe.FindStringSubmatch(line); m != nil {
				if d, err := time.ParseDuration(m[1]); err == nil {
					lastOff = d
				}
			}
			if m := takeoverRe.FindStringSubmatch(line); m != nil {
				if d, err := time.ParseDuration(m[1]); err == nil {
					takeovers = append(takeovers, d)
				}
				if lastOff >= 0 {
					took = append(took, lastOff)
					lastOff = -1
				}
			}
			if strings.Contains(strings.ToLower(line), "fencing failed") {
				fenceFailed++
			}
			if strings.Contains(line, "PANIC") && !storageGone(line) {
				panics = append(panics, n.label+": "+strings.TrimSpace(line))
			}
		}
	}
	return took, takeovers, fenceFailed, panics
}

// logFencing logs every node's fencing and takeover lines since t.
func (s *suite) logFencing(t time.Time) {
	for _, n := range s.nodes {
		var lines []string
		for _, line := range strings.Split(n.logsSince(t), "\n") {
			if l := strings.ToLower(line); strings.Contains(l, "fenc") || strings.Contains(l, "takeover") ||
				strings.Contains(l, "lock acquired") || strings.Contains(l, "waiting for the lock") {
				lines = append(lines, line)
			}
		}
		s.t.Logf("--- %s, fencing since the trial began:\n%s", n.name, strings.Join(lines, "\n"))
	}
}

// storageGone reports a PANIC that is the database's own reaction to the
// fault (its mount died under it: scenario 4 kills the FUSE daemon), not a
// sign of broken data: PostgreSQL PANICs when it cannot write its WAL.
func storageGone(line string) bool {
	for _, errno := range []string{"Transport endpoint is not connected", "Software caused connection abort",
		"Stale file handle", "Input/output error"} {
		if strings.Contains(line, errno) {
			return true
		}
	}
	return false
}

// fenceModes is -chaos.fence: whether sc runs with fence_docker configured
// in the nodes, or without, or both (in that order).
func fenceModes(sc scenario) []bool {
	switch *flagFence {
	case "on":
		return []bool{true}
	case "off":
		return []bool{false}
	case "both":
		if sc.fence {
			// Known unsafe without it: run them with -chaos.fence off.
			return []bool{true}
		}
		return []bool{false, true}
	}
	return []bool{sc.fence} // auto
}

// nodeMode is how the nodes of a scenario's trials run: with fence_docker
// or not, with --fast-takeover (which needs fence_docker) or not.
type nodeMode struct{ fencing, fast bool }

func (m nodeMode) String() string {
	if m.fast {
		return "fast-takeover"
	}
	return "lease"
}

// nodeModes is -chaos.fast-takeover times -chaos.fence for sc, in that
// order: with --fast-takeover the nodes always fence (zkfence refuses it
// without an agent), so its fencing-off mode is the fencing-on one.
func nodeModes(sc scenario) []nodeMode {
	var fast []bool
	switch *flagFast {
	case "on":
		fast = []bool{true}
	case "both":
		fast = []bool{false, true}
	default:
		fast = []bool{false}
	}
	var modes []nodeMode
	for _, f := range fast {
		for _, fencing := range fenceModes(sc) {
			m := nodeMode{fencing: fencing || f, fast: f}
			if !slices.Contains(modes, m) {
				modes = append(modes, m)
			}
		}
	}
	return modes
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
