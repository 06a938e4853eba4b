package marathon

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// DefaultTimeout bounds one request to Marathon when ClientConfig.Timeout
// is zero. Marathon answers reads from memory and acknowledges a
// deployment before it runs, so 30 s is only reached when Marathon is
// electing a leader or overloaded, and then failing is the right answer.
const DefaultTimeout = 30 * time.Second

// Answers larger than this are not read: a task list of a few thousand
// tasks is a few MiB.
const maxBody = 32 << 20

// Errors a caller can test with errors.Is on the error of any request.
var (
	ErrNotFound     = errors.New("not found")                             // 404
	ErrConflict     = errors.New("a deployment is in progress")           // 409
	ErrRejected     = errors.New("Marathon refused the definition")       // 422
	ErrUnauthorized = errors.New("not authorized")                        // 401, 403
	ErrTimeout      = errors.New("Marathon did not answer")               // client timeout
	ErrScaleAndWipe = errors.New("scale and wipe cannot be combined")     // refused before sending
	ErrServer       = errors.New("Marathon failed to handle the request") // 5xx
)

// ClientConfig says how to reach Marathon.
type ClientConfig struct {
	URL     string        // http(s)://marathon:8080, or DC/OS's https://cluster/service/marathon
	Token   string        // DC/OS authentication token, sent as "Authorization: token=<Token>"
	CAFile  string        // PEM file of the CAs that sign Marathon's certificate
	Timeout time.Duration // per request; DefaultTimeout when zero
}

// Client speaks Marathon's REST API (/v2). It never logs or reports its
// token, sends it only to Marathon's origin (scheme, host and port), and
// redacts credentials from every message (client_secret.go).
type Client struct {
	base    *url.URL
	token   string
	timeout time.Duration
	hc      *http.Client
}

// NewClient checks cfg and builds a client.
func NewClient(cfg ClientConfig) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: Marathon URL %q: want http(s)://host[:port][/path]", ErrBadInput,
			redactURL(cfg.URL, cfg.Token))
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("%w: timeout %s is negative", ErrBadInput, cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: CA file: %v", ErrBadInput, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: CA file %s holds no PEM certificate", ErrBadInput, cfg.CAFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	auth := &authTransport{base: tr, origin: u, token: cfg.Token}
	return &Client{base: u, token: cfg.Token, timeout: cfg.Timeout,
		hc: &http.Client{Transport: auth, Timeout: cfg.Timeout}}, nil
}

// APIError is an answer of Marathon other than 2xx.
type APIError struct {
	Method, Path string   // the request, without host or credentials
	Status       int      // HTTP status
	Message      string   // Marathon's "message", or the start of a body that is not JSON
	Details      []Detail // the 422 details
	Deployments  []string // the deployments that hold the service (409)
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if len(e.Details) > 0 {
		msg += ": " + strings.TrimPrefix((&ValidationError{Details: e.Details}).Error(), ": ")
	}
	if len(e.Deployments) > 0 {
		msg += " (deployments: " + strings.Join(e.Deployments, ", ") + ")"
	}
	return msg
}

// Is matches the sentinel errors by status.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrConflict:
		return e.Status == http.StatusConflict
	case ErrRejected:
		return e.Status == http.StatusUnprocessableEntity
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
	case ErrServer:
		return e.Status >= 500
	}
	return false
}

// ValidationError is a 422 answer as a ValidationError, or nil.
func (e *APIError) ValidationError() *ValidationError {
	if e.Status != http.StatusUnprocessableEntity {
		return nil
	}
	return &ValidationError{Message: e.Message, Details: e.Details}
}

// do sends one request. body, when not nil, is sent as JSON (raw bytes are
// sent as they are); a 2xx answer is decoded into out when out is not nil.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	_, err := c.doHeader(ctx, method, path, query, body, out)
	return err
}

// doHeader is do that also returns the answer's headers.
func (c *Client) doHeader(ctx context.Context, method, path string, query url.Values, body, out any) (http.Header, error) {
	req, err := c.newRequest(ctx, method, path, query, body)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.transportError(method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, c.transportError(method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, c.redactAPIError(apiError(method, path, resp.StatusCode, data))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return nil, c.redactErr(fmt.Errorf("%s %s: unexpected answer from Marathon: %v", method, path, err))
		}
	}
	return resp.Header, nil
}

func (c *Client) newRequest(ctx context.Context, method, path string, query url.Values, body any) (*http.Request, error) {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawPath = c.base.EscapedPath() + escapePath(path)
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		b, ok := body.([]byte)
		if !ok {
			var err error
			if b, err = json.Marshal(body); err != nil {
				return nil, err
			}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil // the token is added by authTransport, for Marathon's origin only
}

// transportError says what went wrong without the URL's credentials.
func (c *Client) transportError(method, path string, err error) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("%s %s: %w within %s", method, path, ErrTimeout, c.timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its URL may be a redirect's, with credentials in it
	}
	return c.redactErr(fmt.Errorf("%s %s: cannot reach Marathon at %s: %w", method, path, c.base.Host, err))
}

// apiError reads Marathon's error body: {"message": ..., "details": [...]}
// (422) or {"message": ..., "deployments": [{"id": ...}]} (409).
func apiError(method, path string, status int, body []byte) *APIError {
	e := &APIError{Method: method, Path: path, Status: status}
	var b struct {
		Message     string   `json:"message"`
		Details     []Detail `json:"details"`
		Deployments []struct {
			ID string `json:"id"`
		} `json:"deployments"`
	}
	if json.Unmarshal(body, &b) != nil {
		e.Message = truncate(strings.TrimSpace(string(body)), 512)
		return e
	}
	e.Message, e.Details = b.Message, b.Details
	for _, d := range b.Deployments {
		e.Deployments = append(e.Deployments, d.ID)
	}
	return e
}

// escapePath escapes each element of an id path, keeping the "/" between
// them and Marathon's "::" suffixes.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = strings.ReplaceAll(url.PathEscape(s), "%3A", ":")
	}
	return strings.Join(parts, "/")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
