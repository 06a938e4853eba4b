package marathon

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// authRecorder records the Authorization header of every request it gets.
type authRecorder struct {
	mu   sync.Mutex
	auth []string
}

func (a *authRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.auth = append(a.auth, r.Header.Get("Authorization"))
	a.mu.Unlock()
	reply(w, 200, map[string]any{"marathon_config": map[string]any{"mesos_role": "foo"}})
}

func (a *authRecorder) got() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.auth...)
}

// redirector answers every request with a redirect to target + the path.
func redirector(target func() string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target()+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	})
}

// TestTokenNotSentToAnotherOrigin: a redirect to another port of the same
// host (Go compares host names only) or to another scheme must not carry
// the token; a redirect within Marathon's origin still does.
func TestTokenNotSentToAnotherOrigin(t *testing.T) {
	other := &authRecorder{}
	elsewhere := httptest.NewServer(other) // 127.0.0.1, another port
	defer elsewhere.Close()
	for _, tt := range []struct {
		name   string
		target func(self string) string
		want   string // the Authorization the redirect target gets
	}{
		{"same host, other port", func(string) string { return elsewhere.URL }, ""},
		{"localhost name, other port", func(string) string {
			return strings.Replace(elsewhere.URL, "127.0.0.1", "localhost", 1)
		}, ""},
		{"same origin", func(self string) string { return self + "/moved" }, "token=s3cret-token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			other.mu.Lock()
			other.auth = nil
			other.mu.Unlock()
			var self string
			mux := http.NewServeMux()
			mux.Handle("/moved/", http.StripPrefix("/moved", other))
			mux.Handle("/", redirector(func() string { return tt.target(self) }))
			srv := httptest.NewServer(mux)
			defer srv.Close()
			self = srv.URL
			c, err := NewClient(ClientConfig{URL: srv.URL, Token: "s3cret-token"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.MesosRole(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := other.got(); len(got) != 1 || got[0] != tt.want {
				t.Fatalf("the redirect target got Authorization %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSameOrigin: the token goes only where scheme, host and port (with
// the scheme's default port filled in) are those of Marathon's URL.
func TestSameOrigin(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		same bool
	}{
		{"http://m:8080/x", "http://m:8080/y", true},
		{"http://m/x", "http://m:80/y", true},
		{"https://m/x", "https://M:443/y", true},
		{"http://m:8080", "http://m:8081", false},
		{"https://m", "http://m", false},
		{"https://m:443", "http://m:443", false},
		{"http://m", "http://m.evil", false},
		{"http://127.0.0.1:80", "http://localhost:80", false},
	} {
		if got := sameOrigin(mustURL(t, tt.a), mustURL(t, tt.b)); got != tt.same {
			t.Errorf("sameOrigin(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.same)
		}
	}
}

// TestErrorsRedactTheToken: an answer that echoes the request's headers
// (a proxy's 500 page, a debug body) never brings the token into an error.
func TestErrorsRedactTheToken(t *testing.T) {
	const tok = "s3cret-token"
	for _, tt := range []struct {
		name   string
		status int
		body   string
	}{
		{"500 echoing headers", 500, "<pre>Accept: application/json\r\nAuthorization: token=" + tok + "\r\n</pre>"},
		{"502 with a bearer", 502, "upstream refused Authorization: Bearer " + tok},
		{"json message", 500, `{"message": "bad header token=` + tok + `"}`},
		{"422 details", 422, `{"message": "Object is not valid", "details": [{"path": "/", "errors": ["seen token=` + tok + `"]}]}`},
		{"409 deployments", 409, `{"message": "locked", "deployments": [{"id": "` + tok + `"}]}`},
		{"another token", 500, `Authorization: token=eyJhbGciOi.other-value; and bearer eyJabc.def`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c, _ := NewClient(ClientConfig{URL: srv.URL, Token: tok})
			_, err := c.Tasks(context.Background(), "/db/pg")
			var ae *APIError
			if err == nil || !errors.As(err, &ae) || ae.Status != tt.status {
				t.Fatalf("want a %d, got %v", tt.status, err)
			}
			msg := err.Error()
			for _, secret := range []string{tok, "token=eyJ", "eyJabc", "other-value"} {
				if strings.Contains(msg, secret) {
					t.Fatalf("the error shows %q: %s", secret, msg)
				}
			}
			if !strings.Contains(msg, redacted) {
				t.Fatalf("the error does not say what was removed: %s", msg)
			}
		})
	}
}

// TestTransportErrorRedactsTheToken: a redirect loop to a URL that carries
// the token in its query (a misconfigured proxy) is reported without it.
func TestTransportErrorRedactsTheToken(t *testing.T) {
	const tok = "s3cret-token"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop?token="+tok, http.StatusFound)
	}))
	defer srv.Close()
	c, _ := NewClient(ClientConfig{URL: srv.URL, Token: tok})
	_, err := c.Tasks(context.Background(), "/db/pg")
	if err == nil || strings.Contains(err.Error(), tok) {
		t.Fatalf("want an error without the token, got %v", err)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestBadURLRedacted: a refused URL is quoted without its credentials.
func TestBadURLRedacted(t *testing.T) {
	for _, raw := range []string{"ftp://admin:hunter2-pw@m:8080", "marathon:8080/?token=hunter2-pw", "ftp://m/hunter2-pw"} {
		_, err := NewClient(ClientConfig{URL: raw, Token: "hunter2-pw"})
		if !errors.Is(err, ErrBadInput) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: want ErrBadInput without the secret, got %v", raw, err)
		}
	}
}
