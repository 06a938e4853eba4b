// Package dockerproxy is test support: the local Docker API as Debian's
// fence_docker reaches it, over TLS with client certificates (its
// --ssl-secure; the Docker API is root on the host, so it is never exposed
// without them), forwarding to /var/run/docker.sock only the container
// requests that a test's policy allows. fenceagent's test of fence_docker
// and the chaos suite's nodes use it.
package dockerproxy

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
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Socket is the Docker engine's API socket.
const Socket = "/var/run/docker.sock"

// Request is what a test's policy decides on: a container list (ID and Op
// empty), or an operation (json: inspect, kill, start) on container ID.
type Request struct {
	*http.Request
	ID, Op string
}

// Policy says whether the proxy forwards r. A request for any other path is
// refused before the policy is asked.
type Policy func(r Request) bool

// Seen is one request the proxy answered.
type Seen struct {
	At      time.Time
	From    string // the client's address, without its port
	Method  string
	Path    string // the URL's path
	URL     string // the whole request URL, query included
	ID, Op  string
	Refused bool
}

func (s Seen) String() string {
	if s.Refused {
		return s.Method + " " + s.URL + " (refused)"
	}
	return s.Method + " " + s.URL
}

// Config of a proxy.
type Config struct {
	// Listen is the TCP address to listen on ("127.0.0.1:0"); its host is
	// the server certificate's IP address.
	Listen string
	// Dir receives the client's files: ca.pem, cert.pem, key.pem.
	Dir   string
	Allow Policy
	// ModifyList, if set, rewrites the container list's response (a test
	// that shows its agents only its own containers).
	ModifyList func(*http.Response) error
}

// Proxy is a running proxy.
type Proxy struct {
	Addr, Host, Port  string
	CACert, Cert, Key string // the client's files, in Config.Dir

	srv       *http.Server
	toDocker  *http.Transport
	cfg       Config
	mu        sync.Mutex
	requests  []Seen
	serveDone chan struct{}
}

var apiPath = regexp.MustCompile(`^/v[0-9.]+/containers/(?:json|([^/]+)/(json|kill|start))$`)

// Start writes the certificates and serves until Close.
func Start(cfg Config) (*Proxy, error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, err
	}
	p := &Proxy{Addr: ln.Addr().String(), cfg: cfg, serveDone: make(chan struct{})}
	p.Host, p.Port, _ = net.SplitHostPort(p.Addr)
	p.CACert, p.Cert, p.Key = filepath.Join(cfg.Dir, "ca.pem"), filepath.Join(cfg.Dir, "cert.pem"), filepath.Join(cfg.Dir, "key.pem")
	tlsCfg, err := writeCerts(cfg.Dir, p.Host)
	if err != nil {
		ln.Close()
		return nil, err
	}
	p.toDocker = &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", Socket)
	}}
	p.srv = &http.Server{Handler: p, TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(p.serveDone)
		p.srv.ServeTLS(ln, "", "")
	}()
	return p, nil
}

// Close stops serving and closes the connections to Docker.
func (p *Proxy) Close() {
	p.srv.Close()
	<-p.serveDone
	p.toDocker.CloseIdleConnections() // their goroutines end with them
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	from, _, _ := net.SplitHostPort(r.RemoteAddr)
	seen := Seen{At: time.Now(), From: from, Method: r.Method, Path: r.URL.Path, URL: r.URL.String()}
	m := apiPath.FindStringSubmatch(r.URL.Path)
	if m != nil {
		seen.ID, seen.Op = m[1], m[2]
	}
	seen.Refused = m == nil || !p.cfg.Allow(Request{Request: r, ID: seen.ID, Op: seen.Op})
	p.mu.Lock()
	p.requests = append(p.requests, seen)
	p.mu.Unlock()
	if seen.Refused {
		http.Error(w, "refused by the test's Docker proxy", http.StatusForbidden)
		return
	}
	rp := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(&url.URL{Scheme: "http", Host: "docker"}) },
		Transport: p.toDocker,
	}
	if seen.ID == "" {
		rp.ModifyResponse = p.cfg.ModifyList
	}
	rp.ServeHTTP(w, r)
}

// Requests are the requests answered so far, forwarded or refused.
func (p *Proxy) Requests() []Seen {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Seen(nil), p.requests...)
}

// Saw reports whether a request with method and a path ending in suffix was
// forwarded.
func (p *Proxy) Saw(method, suffix string) bool {
	for _, r := range p.Requests() {
		if !r.Refused && r.Method == method && strings.HasSuffix(r.Path, suffix) {
			return true
		}
	}
	return false
}

// writeCerts makes a CA, a server certificate for ip and a client
// certificate, writes the client's files and the CA into dir, and returns
// the server's TLS configuration, which requires a client certificate of
// that CA.
func writeCerts(dir, ip string) (*tls.Config, error) {
	ca, caKey, err := newCert(nil, nil, "zkfence-test-ca", true)
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

// newCert makes a certificate signed by parent (self-signed when nil),
// valid for a day; an IP address as cn goes into the IP SANs.
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
