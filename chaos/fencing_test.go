//go:build chaos

package chaos

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// fenceDir is where the fence agent's TLS files are inside a node.
const fenceDir = "/fence"

// dockerFence is the Docker API as the nodes' fence_docker reaches it: a TLS
// listener of the test process on the suite network's gateway address, with
// client certificates (the Docker API is root on the host), forwarding to
// /var/run/docker.sock only what fencing one of the suite's nodes needs:
// the container list (filtered down to the suite's nodes), and inspect and
// kill of a suite node. Anything else, or anything from outside the suite's
// subnet, is refused. It records every kill.
type dockerFence struct {
	addr, port string // gateway:port, and the port
	dir        string // host directory of ca.pem, cert.pem, key.pem (bind-mounted at fenceDir)
	subnet     string
	isNode     func(cid string) bool
	srv        *http.Server

	mu      sync.Mutex
	kills   []fenceKill
	refused []string
}

type fenceKill struct {
	at  time.Time
	cid string
}

var fenceAPIPath = regexp.MustCompile(`^/v[0-9.]+/containers/(?:json|([0-9a-f]{64})/(json|kill))$`)

// startDockerFence listens on the suite network's gateway. Nodes started
// afterwards get fence_docker configured (nodeFenceArgs).
func (s *suite) startDockerFence() {
	dir, err := os.MkdirTemp("", "zkfence-chaos-fence-")
	s.must(err)
	s.root.Cleanup(func() { os.RemoveAll(dir) })
	s.must(os.Chmod(dir, 0o755))
	gw := s.subnet + ".1"
	srvTLS, err := writeFenceCerts(dir, gw)
	s.must(err)
	ln, err := net.Listen("tcp", gw+":0")
	s.must(err)
	d := &dockerFence{addr: ln.Addr().String(), dir: dir, subnet: s.subnet + ".", isNode: func(cid string) bool {
		_, ok := s.nodeOfCID(cid)
		return ok
	}}
	_, d.port, _ = net.SplitHostPort(d.addr)
	d.srv = &http.Server{Handler: d, TLSConfig: srvTLS, ReadHeaderTimeout: 10 * time.Second}
	go d.srv.ServeTLS(ln, "", "")
	s.root.Cleanup(func() { d.srv.Close() })
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
	for _, o := range []string{"ip=" + strings.TrimSuffix(d.addr, ":"+d.port), "ipport=" + d.port, "ssl_secure=1",
		"tlscacert=" + fenceDir + "/ca.pem", "tlscert=" + fenceDir + "/cert.pem", "tlskey=" + fenceDir + "/key.pem",
		"api_version=1.41", "shell_timeout=20", "power_timeout=40"} {
		args = append(args, "--fence-option", o)
	}
	return args
}

func (d *dockerFence) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	m := fenceAPIPath.FindStringSubmatch(r.URL.Path)
	ok := strings.HasPrefix(host, d.subnet) && m != nil
	switch {
	case !ok:
	case m[1] == "": // the list
		ok = r.Method == http.MethodGet
	case m[2] == "json":
		ok = r.Method == http.MethodGet && d.isNode(m[1])
	default: // kill: SIGKILL only (no signal parameter)
		ok = r.Method == http.MethodPost && d.isNode(m[1]) && r.URL.RawQuery == ""
	}
	if !ok {
		d.mu.Lock()
		d.refused = append(d.refused, host+" "+r.Method+" "+r.URL.String())
		d.mu.Unlock()
		http.Error(w, "refused by the chaos suite's fence proxy", http.StatusForbidden)
		return
	}
	if m[2] == "kill" {
		d.mu.Lock()
		d.kills = append(d.kills, fenceKill{at: time.Now(), cid: m[1]})
		d.mu.Unlock()
	}
	rp := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(&url.URL{Scheme: "http", Host: "docker"}) },
		Transport: dockerSocket,
	}
	if m[1] == "" {
		rp.ModifyResponse = d.onlyNodes
	}
	rp.ServeHTTP(w, r)
}

var dockerSocket = &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
	var dl net.Dialer
	return dl.DialContext(ctx, "unix", "/var/run/docker.sock")
}}

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
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, k := range d.kills {
		if k.at.After(t) {
			out = append(out, label(k.cid))
		}
	}
	return out
}

func (d *dockerFence) refusedRequests() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.refused...)
}

// writeFenceCerts makes a CA, a server certificate for ip and a client
// certificate, writes the client's files (and the CA) into dir for the
// nodes, and returns the server's TLS configuration, which requires a
// client certificate of that CA.
func writeFenceCerts(dir, ip string) (*tls.Config, error) {
	ca, caKey, err := newCert(nil, nil, "zkfence-chaos-fence-ca", true)
	if err != nil {
		return nil, err
	}
	srv, srvKey, err := newCert(ca, caKey, ip, false)
	if err != nil {
		return nil, err
	}
	cli, cliKey, err := newCert(ca, caKey, "fence_docker", false)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(cliKey)
	if err != nil {
		return nil, err
	}
	for name, b := range map[string]*pem.Block{"ca.pem": {Type: "CERTIFICATE", Bytes: ca.Raw},
		"cert.pem": {Type: "CERTIFICATE", Bytes: cli.Raw}, "key.pem": {Type: "EC PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(b), 0o600); err != nil {
			return nil, err
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{srv.Raw}, PrivateKey: srvKey}},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// newCert makes a certificate signed by parent (self-signed when nil); an
// IP address as cn goes into the IP SANs.
func newCert(parent *x509.Certificate, parentKey *ecdsa.PrivateKey, cn string, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		tmpl.ExtKeyUsage = nil
	}
	if ip := net.ParseIP(cn); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
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
