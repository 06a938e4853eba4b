package marathon

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// How the client keeps its token to itself:
//
//   - The token is added by the transport, to each request whose scheme,
//     host and port are those of Marathon's URL, and to no other. A
//     redirect elsewhere (another port of the same host included: Go's
//     own redirect rule compares host names only) goes without it.
//   - Every message built from what Marathon (or a proxy in front of it)
//     answered is redacted before it leaves the client: the token itself,
//     and any "token=..." or "Bearer ..." credential, become [REDACTED].

// redacted replaces a credential in a message.
const redacted = "[REDACTED]"

// authTransport adds "Authorization: token=<token>" to the requests that
// go to Marathon's origin.
type authTransport struct {
	base   http.RoundTripper
	origin *url.URL
	token  string
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.token == "" || !sameOrigin(req.URL, t.origin) {
		return t.base.RoundTrip(req)
	}
	// A RoundTripper must not change the request it is given, and the
	// client copies that request's headers into any redirect: the token
	// goes on a copy only.
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "token="+t.token)
	return t.base.RoundTrip(req)
}

// sameOrigin: same scheme, host (case-insensitive) and port, with the
// scheme's default port when none is given.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) &&
		portOf(a) == portOf(b)
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// credentialPattern finds "token=VALUE" and "Bearer VALUE" in text that
// echoes headers or URLs.
var credentialPattern = regexp.MustCompile(`(?i)(token=|bearer\s+)[^\s"'<>,;&]+`)

// redact removes the client's token and anything that looks like a
// credential from a message.
func (c *Client) redact(s string) string {
	if c.token != "" {
		s = strings.ReplaceAll(s, c.token, redacted)
	}
	return credentialPattern.ReplaceAllString(s, "${1}"+redacted)
}

// redactAPIError redacts every text of an answer.
func (c *Client) redactAPIError(e *APIError) *APIError {
	e.Message = c.redact(e.Message)
	for i, d := range e.Details {
		errs := make([]string, len(d.Errors))
		for j, m := range d.Errors {
			errs[j] = c.redact(m)
		}
		e.Details[i] = Detail{Path: c.redact(d.Path), Errors: errs}
	}
	for i, id := range e.Deployments {
		e.Deployments[i] = c.redact(id)
	}
	return e
}

// redactedError is an error whose message is redacted; errors.Is and
// errors.As still see the error underneath.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactErr redacts err's message, keeping it testable with errors.Is.
func (c *Client) redactErr(err error) error {
	if err == nil {
		return nil
	}
	msg := c.redact(err.Error())
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// redactURL is a URL fit for a message: no password, no token.
func redactURL(raw, token string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		raw = u.Redacted()
	}
	return (&Client{token: token}).redact(raw)
}
