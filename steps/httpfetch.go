package steps

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/runbookhq/runbook/runbook/transport"
)

// This file makes the HTTP requests of uri and notify_webhook: from the
// controller with Go's client, or from the host with its curl (else its
// wget). Nothing of the request (URL, headers, body) reaches a command
// line: curl reads it as a config on standard input, and the wget script
// travels as a sensitive script (on standard input too).

// httpRequest is one request.
type httpRequest struct {
	Method   string
	URL      string
	Headers  map[string]string
	Body     []byte
	HasBody  bool
	Timeout  time.Duration
	Insecure bool // do not verify the server's certificate
	Follow   bool // follow redirects (up to 10)
}

// httpResponse is what came back.
type httpResponse struct {
	Status  int
	Headers map[string]string // names in lower case; repeated ones joined by ", "
	Body    []byte
}

// maxResponse bounds the response a step reads.
const maxResponse = 4 << 20

// safeURL is u as messages show it: no user information, no query (either
// may hold a secret).
func safeURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(a URL that does not parse)"
	}
	p.User, p.RawQuery, p.ForceQuery, p.Fragment = nil, "", false, ""
	s := p.String()
	if strings.Contains(u, "?") {
		s += "?…"
	}
	return s
}

// hostPort is the address a URL connects to.
func hostPort(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "?"
	}
	if p.Port() != "" {
		return p.Host
	}
	port := map[string]string{"http": "80", "https": "443"}[p.Scheme]
	return net.JoinHostPort(p.Hostname(), port)
}

// checkURL reports what is wrong with a rendered URL.
func checkURL(u string) error {
	p, err := url.Parse(u)
	switch {
	case err != nil:
		return fmt.Errorf("url: %v", errors.Unwrap(err))
	case p.Scheme != "http" && p.Scheme != "https":
		return fmt.Errorf("url %s: use http:// or https://", safeURL(u))
	case p.Host == "":
		return fmt.Errorf("url %s: no host", safeURL(u))
	case strings.ContainsAny(u, " \t\r\n\"\\"):
		return fmt.Errorf("url %s: spaces, quotes and backslashes must be %%-encoded", safeURL(u))
	}
	return nil
}

// checkHeader reports a header that cannot be sent as it is.
func checkHeader(name, value string) error {
	if name == "" || strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, r) }) {
		return fmt.Errorf("header name %q is not a token", name)
	}
	if strings.ContainsAny(value, "\r\n\x00") {
		return fmt.Errorf("header %s: the value holds a line break", name)
	}
	return nil
}

// fetchLocal makes the request from the controller.
func fetchLocal(ctx context.Context, req httpRequest) (httpResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, req.Timeout)
	defer cancel()
	var body io.Reader
	if req.HasBody {
		body = bytes.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, req.URL, body)
	if err != nil {
		return httpResponse{}, err
	}
	for k, v := range req.Headers {
		hr.Header.Set(k, v)
		if strings.EqualFold(k, "host") {
			hr.Host = v
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if req.Insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // asked for with validate_certs: false
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(_ *http.Request, via []*http.Request) error {
		if !req.Follow || len(via) >= 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := client.Do(hr)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the URL, which may hold a secret
		}
		if ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
			return httpResponse{}, fmt.Errorf("no response from %s within %s", hostPort(req.URL), roundWait(req.Timeout))
		}
		return httpResponse{}, fmt.Errorf("%s: %v", hostPort(req.URL), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return httpResponse{}, fmt.Errorf("%s: reading the response: %v", hostPort(req.URL), err)
	}
	if len(data) > maxResponse {
		return httpResponse{}, fmt.Errorf("%s: the response is larger than %d MiB", hostPort(req.URL), maxResponse>>20)
	}
	out := httpResponse{Status: resp.StatusCode, Headers: map[string]string{}, Body: data}
	for k, v := range resp.Header {
		out.Headers[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	return out, nil
}

// errNoHTTPClient says the host has neither curl nor wget.
var errNoHTTPClient = errors.New("the host has neither curl nor wget")

// fetchOnHost makes the request from the host with its curl, else its
// wget.
func fetchOnHost(ctx context.Context, x *Exec, req httpRequest) (httpResponse, string, error) {
	resp, cmd, err := fetchCurl(ctx, x, req)
	if !errors.Is(err, errNoHTTPClient) {
		return resp, cmd, err
	}
	return fetchWget(ctx, x, req)
}

// curlConfigQuote quotes s for a curl config file.
func curlConfigQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "\v", `\v`)
	return `"` + r.Replace(s) + `"`
}

// markerToken is a random word that ends the response in curl's output.
func markerToken() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "RUNBOOK-URI-" + hex.EncodeToString(b)
}

// curlConfig is the config curl reads for req; curl writes the response
// (status line and headers, then the body) and then a line with marker,
// the status, the size of the headers and of the body.
func curlConfig(req httpRequest, marker string) string {
	var b strings.Builder
	opt := func(name, value string) { fmt.Fprintf(&b, "%s = %s\n", name, curlConfigQuote(value)) }
	opt("url", req.URL)
	switch {
	case req.Method == "HEAD":
		b.WriteString("head\n")
	case req.Method != "GET" || req.HasBody:
		opt("request", req.Method)
	}
	names := make([]string, 0, len(req.Headers))
	for k := range req.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		opt("header", k+": "+req.Headers[k])
	}
	if req.HasBody {
		opt("data-raw", string(req.Body))
	}
	secs := strconv.FormatFloat(req.Timeout.Seconds(), 'f', 3, 64)
	opt("max-time", secs)
	opt("connect-timeout", secs)
	opt("proto", "=http,https")
	b.WriteString("silent\nshow-error\ninclude\n")
	if req.Insecure {
		b.WriteString("insecure\n")
	}
	if req.Follow {
		b.WriteString("location\n")
		opt("max-redirs", "10")
	}
	opt("write-out", "\n"+marker+" %{http_code} %{size_header} %{size_download}\n")
	return b.String()
}

// fetchCurl makes the request with the host's curl.
func fetchCurl(ctx context.Context, x *Exec, req httpRequest) (httpResponse, string, error) {
	marker := markerToken()
	cmd := "command -v curl >/dev/null 2>&1 || exit 127\nexec curl -K -"
	out, errOut, rc, over, err := x.outputCapped(ctx, transport.Command{Shell: cmd, Stdin: strings.NewReader(curlConfig(req, marker)),
		Timeout: req.Timeout + 15*time.Second}, maxResponse+4096)
	if err != nil {
		return httpResponse{}, cmd, fmt.Errorf("%s: %w", hostPort(req.URL), err)
	}
	if rc == 127 && strings.TrimSpace(errOut) == "" {
		return httpResponse{}, cmd, errNoHTTPClient
	}
	if over {
		return httpResponse{}, cmd, fmt.Errorf("%s: the response is larger than %d MiB", hostPort(req.URL), maxResponse>>20)
	}
	if rc != 0 {
		return httpResponse{}, cmd, curlError(req, rc, errOut)
	}
	i := strings.LastIndex(out, "\n"+marker+" ")
	if i < 0 {
		return httpResponse{}, cmd, fmt.Errorf("%s: curl printed no result%s", hostPort(req.URL), stderrTail(errOut))
	}
	trailer := out[i+len(marker)+2:]
	f := strings.Fields(trailer)
	var status, headerSize, bodySize int
	if len(f) == 3 {
		status, _ = strconv.Atoi(f[0])
		headerSize, _ = strconv.Atoi(f[1])
		bodySize, _ = strconv.Atoi(f[2])
	}
	out = out[:i]
	if status == 0 || headerSize+bodySize != len(out) {
		return httpResponse{}, cmd, fmt.Errorf("%s: curl's output does not add up (%q after %d bytes)", hostPort(req.URL), trailer, len(out))
	}
	return httpResponse{Status: status, Headers: lastHeaderBlock(out[:headerSize]), Body: []byte(out[headerSize:])}, cmd, nil
}

// curlError explains a curl that got no response.
func curlError(req httpRequest, rc int, stderr string) error {
	switch rc {
	case 28:
		return fmt.Errorf("no response from %s within %s%s", hostPort(req.URL), roundWait(req.Timeout), stderrTail(stderr))
	case 6, 7:
		return fmt.Errorf("cannot connect to %s%s", hostPort(req.URL), stderrTail(stderr))
	}
	return fmt.Errorf("%s: curl exit %d%s", hostPort(req.URL), rc, stderrTail(stderr))
}

// lastHeaderBlock reads the headers of the last response in s (curl
// shows every response of a redirect chain, and 100 Continue).
func lastHeaderBlock(s string) map[string]string {
	blocks := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n")
	last := ""
	for _, b := range blocks {
		if strings.HasPrefix(b, "HTTP/") {
			last = b
		}
	}
	return parseHeaderLines(strings.Split(last, "\n")[1:])
}

// parseHeaderLines reads "Name: value" lines.
func parseHeaderLines(lines []string) map[string]string {
	h := map[string]string{}
	for _, l := range lines {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		if old, dup := h[k]; dup {
			v = old + ", " + v
		}
		h[k] = v
	}
	return h
}

// wgetScript is the script that makes req with wget (which reads its
// config file twice, so a pipe will not do): the config, the URL and the
// body go to files of a private temporary directory, removed at the end.
// The script travels as a sensitive one, never on a command line.
func wgetScript(host string, req httpRequest) string {
	var rc strings.Builder
	rc.WriteString("tries = 1\nserver_response = on\ncontent_on_error = on\noutput_document = -\n")
	fmt.Fprintf(&rc, "timeout = %d\nmethod = %s\n", max(int(req.Timeout.Seconds()), 1), req.Method)
	if req.Follow {
		rc.WriteString("max_redirect = 10\n")
	} else {
		rc.WriteString("max_redirect = 0\n")
	}
	if req.Insecure {
		rc.WriteString("check_certificate = off\n")
	}
	for k, v := range req.Headers {
		fmt.Fprintf(&rc, "header = %s: %s\n", k, v)
	}
	body, bodyFile := "", ""
	if req.HasBody {
		bodyFile = `; printf 'body_file = %s/body\n' "$d"`
		body = "printf '%s' " + quote(string(req.Body)) + ` > "$d/body"` + "\n"
	}
	return `command -v wget >/dev/null 2>&1 || exit 127
umask 077
d=$(mktemp -d "${TMPDIR:-/tmp}/runbook-` + pathElem(host) + `.XXXXXXXXXX") || exit 1
trap 'rm -rf "$d"' EXIT
{ printf '%s' ` + quote(rc.String()) + bodyFile + `; } > "$d/rc"
printf '%s\n' ` + quote(req.URL) + ` > "$d/url"
` + body + `wget --config="$d/rc" -i "$d/url"`
}

// fetchWget makes the request with the host's wget.
func fetchWget(ctx context.Context, x *Exec, req httpRequest) (httpResponse, string, error) {
	for k, v := range req.Headers {
		if strings.ContainsAny(k+v, "\n") {
			return httpResponse{}, "", fmt.Errorf("header %s: the value holds a line break", k)
		}
	}
	script := wgetScript(x.Host, req)
	cmd := "wget (the request as a script on standard input)"
	out, errOut, rc, over, err := x.outputCapped(ctx, transport.Command{Shell: script, Sensitive: true,
		Timeout: req.Timeout + 15*time.Second}, maxResponse)
	if err != nil {
		return httpResponse{}, cmd, fmt.Errorf("%s: %w", hostPort(req.URL), err)
	}
	if rc == 127 && strings.TrimSpace(errOut) == "" {
		return httpResponse{}, cmd, errNoHTTPClient
	}
	if over {
		return httpResponse{}, cmd, fmt.Errorf("%s: the response is larger than %d MiB", hostPort(req.URL), maxResponse>>20)
	}
	// -S writes each response's status line and headers to stderr,
	// indented by two spaces.
	var status int
	var headers []string
	for _, l := range strings.Split(errOut, "\n") {
		l = strings.TrimRight(l, "\r")
		switch {
		case strings.HasPrefix(l, "  HTTP/"):
			f := strings.Fields(l)
			if len(f) >= 2 {
				status, _ = strconv.Atoi(f[1])
			}
			headers = nil
		case strings.HasPrefix(l, "  ") && status != 0:
			headers = append(headers, strings.TrimSpace(l))
		}
	}
	if status == 0 {
		switch rc {
		case 4:
			return httpResponse{}, cmd, fmt.Errorf("cannot connect to %s, or no response within %s%s", hostPort(req.URL), roundWait(req.Timeout), stderrTail(errOut))
		}
		return httpResponse{}, cmd, fmt.Errorf("%s: wget exit %d%s", hostPort(req.URL), rc, stderrTail(errOut))
	}
	return httpResponse{Status: status, Headers: parseHeaderLines(headers), Body: []byte(out)}, cmd, nil
}
