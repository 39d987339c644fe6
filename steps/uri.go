package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/runbookhq/runbook/runbook"
)

func init() { register[URI]("uri") }

// URI makes an HTTP(S) request, from the host with its curl (else its
// wget), or from the controller with `local: true`: `uri: {url, method,
// headers, body, body_format, status, timeout, validate_certs,
// follow_redirects}`. It fails when the status is not one of status
// (default 200), or when no response came within timeout (default 30s),
// naming the address. With `register: r` a later step sees r.data.status,
// .headers (names in lower case), .body (up to 64 KiB; .body_truncated
// when longer) and .json (the body decoded, when it is JSON). The URL,
// headers and body never reach a command line.
//
// In check mode a GET or HEAD is made as usual (they change nothing, and
// later steps may want the answer); other methods are not sent, and the
// step says it would change something.
type URI struct {
	URL             string            `yaml:"url" desc:"http:// or https:// URL." required:"true"`
	Method          string            `yaml:"method" desc:"GET (default), HEAD, POST, PUT, PATCH, DELETE or OPTIONS." enum:"GET,HEAD,POST,PUT,PATCH,DELETE,OPTIONS"`
	Headers         map[string]string `yaml:"headers" desc:"Request headers."`
	Body            any               `yaml:"body" desc:"Request body: a string as it is, a mapping or list as JSON."`
	BodyFormat      string            `yaml:"body_format" desc:"json (default for a mapping or list: sets Content-Type) or raw." enum:"json,raw"`
	Status          StatusList        `yaml:"status" desc:"Statuses that count as success (default 200)."`
	Timeout         runbook.Duration  `yaml:"timeout" desc:"How long to wait for the response (default 30s)."`
	ValidateCerts   *bool             `yaml:"validate_certs" desc:"Verify the server's TLS certificate (default true)."`
	FollowRedirects bool              `yaml:"follow_redirects" desc:"Follow redirects (up to 10)."`
}

// StatusList is one HTTP status or a list of them.
type StatusList []int

// DecodeYAML implements runbook.YAMLDecoder.
func (s *StatusList) DecodeYAML(d *runbook.Decoder, n *yaml.Node) {
	n = runbook.Resolve(n)
	nodes := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		nodes = n.Content
	}
	for _, c := range nodes {
		v, ok := d.Scalar(c, "an HTTP status")
		if !ok {
			continue
		}
		code, err := strconv.Atoi(v)
		if err != nil || code < 100 || code > 599 {
			d.Errorf(c, "status %q: use a number from 100 to 599", v)
			continue
		}
		*s = append(*s, code)
	}
}

// JSONSchema implements runbook.SchemaProvider.
func (*StatusList) JSONSchema(*runbook.SchemaGen) map[string]any {
	code := map[string]any{"type": "integer", "minimum": 100, "maximum": 599}
	return map[string]any{"oneOf": []any{code, map[string]any{"type": "array", "items": code}}}
}

// Validate implements runbook.StepSpec.
func (u *URI) Validate(c *runbook.Check) {
	if u.URL == "" {
		c.Errorf("", "uri: needs url:")
	} else if !runbook.HasTemplate(u.URL) {
		if err := checkURL(u.URL); err != nil {
			c.Errorf("url", "uri: %v", err)
		}
	}
	if u.Method != "" && !slices.Contains(uriMethods, u.Method) {
		c.Errorf("method", "uri: method %q: use one of %s", u.Method, strings.Join(uriMethods, ", "))
	}
	if u.Body != nil && (u.Method == "GET" || u.Method == "HEAD" || u.Method == "") {
		c.Errorf("body", "uri: a body goes with POST, PUT, PATCH or DELETE (set method:)")
	}
	switch u.BodyFormat {
	case "", "raw", "json":
	default:
		c.Errorf("body_format", "uri: body_format %q: use json or raw", u.BodyFormat)
	}
	if u.BodyFormat == "raw" {
		if _, ok := u.Body.(string); !ok && u.Body != nil {
			c.Errorf("body", "uri: body_format: raw takes a string body")
		}
	}
	for k, v := range u.Headers {
		if !runbook.HasTemplate(k + v) {
			if err := checkHeader(k, v); err != nil {
				c.Errorf("headers", "uri: %v", err)
			}
		}
	}
}

var uriMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

func (u *URI) method() string {
	if u.Method == "" {
		return "GET"
	}
	return u.Method
}

func (u *URI) timeout() time.Duration {
	if u.Timeout > 0 {
		return u.Timeout.D()
	}
	return 30 * time.Second
}

// Describe implements Kind.
func (u *URI) Describe() string {
	s := "uri: " + u.method() + " " + safeURL(u.URL)
	if len(u.Status) > 0 {
		s += fmt.Sprintf(" (want %v)", []int(u.Status))
	}
	return s
}

// request builds the request from the rendered spec.
func (u *URI) request() (httpRequest, error) {
	if err := checkURL(u.URL); err != nil {
		return httpRequest{}, err
	}
	req := httpRequest{Method: u.method(), URL: u.URL, Headers: map[string]string{}, Timeout: u.timeout(),
		Insecure: u.ValidateCerts != nil && !*u.ValidateCerts, Follow: u.FollowRedirects}
	for k, v := range u.Headers {
		if err := checkHeader(k, v); err != nil {
			return req, err
		}
		req.Headers[k] = v
	}
	if u.Body == nil {
		return req, nil
	}
	req.HasBody = true
	contentType := "application/octet-stream"
	if s, ok := u.Body.(string); ok && u.BodyFormat != "json" {
		req.Body = []byte(s)
	} else if ok {
		req.Body, contentType = []byte(s), "application/json"
	} else {
		b, err := json.Marshal(u.Body)
		if err != nil {
			return req, fmt.Errorf("body: %v", err)
		}
		req.Body, contentType = b, "application/json"
	}
	if !hasHeader(req.Headers, "Content-Type") {
		req.Headers["Content-Type"] = contentType
	}
	return req, nil
}

func hasHeader(h map[string]string, name string) bool {
	for k := range h {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// Run implements Kind.
func (u *URI) Run(ctx context.Context, x *Exec) Result { return u.do(ctx, x) }

// Predict implements Predictor.
func (u *URI) Predict(ctx context.Context, x *Exec) Result {
	if m := u.method(); m == "GET" || m == "HEAD" {
		return u.do(ctx, x)
	}
	return Result{Status: Changed, Data: map[string]any{"url": safeURL(u.URL), "method": u.method(), "would_send": true}}
}

func (u *URI) do(ctx context.Context, x *Exec) Result {
	req, err := u.request()
	if err != nil {
		return Fail("", "uri: %v", err)
	}
	data := map[string]any{"url": safeURL(u.URL), "method": req.Method}
	start := time.Now()
	var resp httpResponse
	cmd := "(from the controller)"
	if x.Local {
		resp, err = fetchLocal(ctx, req)
	} else {
		resp, cmd, err = fetchOnHost(ctx, x, req)
	}
	data["elapsed_ms"] = time.Since(start).Milliseconds()
	what := "uri: " + req.Method + " " + safeURL(u.URL)
	if err != nil {
		return Result{Status: Failed, Command: cmd, Data: data, Err: fmt.Errorf("%s: %w", what, err)}
	}
	u.record(data, resp)
	want := []int(u.Status)
	if len(want) == 0 {
		want = []int{200}
	}
	if !slices.Contains(want, resp.Status) {
		return Result{Status: Failed, Command: cmd, Data: data, Err: fmt.Errorf("%s: status %d, want %s%s", what, resp.Status, statusList(want), bodyHint(resp.Body))}
	}
	return Result{Status: OK, Command: cmd, Data: data}
}

// record puts the response into the step's data.
func (u *URI) record(data map[string]any, resp httpResponse) {
	data["status"], data["headers"] = resp.Status, resp.Headers
	body := resp.Body
	if len(body) > 64<<10 {
		body, data["body_truncated"] = body[:64<<10], true
	}
	data["body"] = strings.ToValidUTF8(string(body), "\uFFFD")
	if strings.Contains(resp.Headers["content-type"], "json") || jsonLooking(resp.Body) {
		var v any
		if json.Unmarshal(resp.Body, &v) == nil {
			data["json"] = v
		}
	}
}

// jsonLooking says whether a body with no JSON content type still looks
// like a JSON object or array.
func jsonLooking(b []byte) bool {
	s := strings.TrimSpace(string(b[:min(len(b), 16)]))
	return strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")
}

func statusList(codes []int) string {
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = strconv.Itoa(c)
	}
	return strings.Join(parts, " or ")
}

// bodyHint is the start of a response body for an error message.
func bodyHint(b []byte) string {
	s := strings.TrimSpace(string(b))
	if s == "" || !utf8.ValidString(s) {
		return ""
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return ": " + strings.Join(strings.Fields(s), " ")
}
