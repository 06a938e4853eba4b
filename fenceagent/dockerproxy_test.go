package fenceagent

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// dockerProxy exposes the local Docker socket to fence_docker on a
// loopback TCP port, over TLS with client certificates (fence_docker's
// --ssl-secure: the Docker API is root on the host, it is never exposed
// without them). It forwards only what fencing one container needs (list,
// inspect, kill, start of that container), so that a mistaken test cannot
// touch anyone else's containers.
type dockerProxy struct {
	Port                   string
	CACert, Cert, Key      string // the client's files, for fence_docker
	mu                     sync.Mutex
	requests               []string
	container, shortPrefix string
}

var dockerPathRe = regexp.MustCompile(`^/v[0-9.]+/containers/(?:json|([^/]+)/(json|kill|start))$`)

func startDockerProxy(t *testing.T, containerID string) *dockerProxy {
	t.Helper()
	p := &dockerProxy{container: containerID}
	dir := t.TempDir()
	ca, caKey := newCert(t, nil, nil, "zkfence-test-ca", true)
	srv, srvKey := newCert(t, ca, caKey, "127.0.0.1", false)
	cli, cliKey := newCert(t, ca, caKey, "fence_docker", false)
	p.CACert = writePEM(t, dir, "ca.pem", "CERTIFICATE", ca.Raw)
	p.Cert = writePEM(t, dir, "cert.pem", "CERTIFICATE", cli.Raw)
	p.Key = writeKey(t, dir, "key.pem", cliKey)
	pool := x509.NewCertPool()
	pool.AddCert(ca)

	target, _ := url.Parse("http://docker")
	toDocker := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", "/var/run/docker.sock")
	}}
	t.Cleanup(toDocker.CloseIdleConnections) // its kept-alive connections' goroutines end with them
	rp := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport: toDocker,
	}
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.requests = append(p.requests, r.Method+" "+r.URL.Path)
		p.mu.Unlock()
		m := dockerPathRe.FindStringSubmatch(r.URL.Path)
		if m == nil || (m[1] != "" && m[1] != p.container) || (m[1] == "" && r.Method != http.MethodGet) {
			http.Error(w, "refused by the test's proxy", http.StatusForbidden)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	s.TLS = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{srv.Raw}, PrivateKey: srvKey}},
		ClientAuth:   tls.RequireAndVerifyClientCert, ClientCAs: pool,
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	_, p.Port, _ = net.SplitHostPort(s.Listener.Addr().String())
	return p
}

func (p *dockerProxy) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.requests...)
}

func (p *dockerProxy) Saw(method, suffix string) bool {
	for _, r := range p.Requests() {
		if strings.HasPrefix(r, method+" ") && strings.HasSuffix(r, suffix) {
			return true
		}
	}
	return false
}

// newCert makes a certificate signed by parent (self-signed when nil).
func newCert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, cn string, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
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
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeKey(t *testing.T, dir, name string, key *ecdsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, name, "EC PRIVATE KEY", der)
}
