package dockerproxy

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"testing"

	"github.com/zkfence/zkfence/internal/testmain"
)

func TestMain(m *testing.M) { testmain.Main(m) }

// client is fence_docker's side: the proxy's CA and the client certificate
// it wrote, or none.
func client(t *testing.T, p *Proxy, withCert bool) *http.Client {
	t.Helper()
	ca, err := os.ReadFile(p.CACert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	cfg := &tls.Config{RootCAs: pool}
	if withCert {
		c, err := tls.LoadX509KeyPair(p.Cert, p.Key)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	tr := &http.Transport{TLSClientConfig: cfg}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// TestPolicyAndClientCertificates: a client without the certificate is
// turned away by TLS; with it, what the policy or the path filter refuses
// gets 403 and never reaches Docker, and each request is recorded.
func TestPolicyAndClientCertificates(t *testing.T) {
	p, err := Start(Config{Listen: "127.0.0.1:0", Dir: t.TempDir(),
		Allow: func(r Request) bool { return r.ID == "mine" && r.Op == "json" }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	base := "https://" + p.Addr
	if resp, err := client(t, p, false).Get(base + "/v1.41/containers/json"); err == nil {
		resp.Body.Close()
		t.Fatal("a client without a certificate was served")
	}
	c := client(t, p, true)
	for _, path := range []string{"/v1.41/containers/json", "/v1.41/containers/other/json", "/v1.41/images/json", "/v1.41/containers/mine/kill"} {
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s: %d, want 403", path, resp.StatusCode)
		}
	}
	got := p.Requests()
	if len(got) != 4 || got[1].ID != "other" || got[1].Op != "json" || !got[3].Refused {
		t.Fatalf("requests: %q", got)
	}
	if p.Saw("GET", "/containers/other/json") {
		t.Error("Saw counts a refused request")
	}
}
