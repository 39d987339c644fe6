package steps

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testAPI is a loopback HTTP server with the endpoints the uri tests use;
// posts counts the requests that are not GET or HEAD.
type testAPI struct {
	*httptest.Server
	posts atomic.Int32
}

func newTestAPI(t *testing.T) *testAPI {
	t.Helper()
	api := &testAPI{}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("X-Node", "a")
		w.Header().Add("X-Node", "b")
		io.WriteString(w, `{"status":"ok","checks":{"etcd":true}}`)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "GET" && r.Method != "HEAD" {
			api.posts.Add(1)
		}
		body, _ := io.ReadAll(r.Body)
		json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "auth": r.Header.Get("Authorization"),
			"type": r.Header.Get("Content-Type"), "body": string(body), "query": r.URL.RawQuery})
	})
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "etcd is not ready\n")
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/healthz", http.StatusFound) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, strings.Repeat("x", 100<<10)) })
	api.Server = httptest.NewServer(mux)
	t.Cleanup(api.Close)
	return api
}

// uriTargets are the places a request goes from: the hosts of targets
// (through their curl) and the controller (local: true).
func uriTargets(t *testing.T) []target {
	ts := targets(t)
	return append(ts, target{name: "controller", tr: ts[0].tr, scratch: ts[0].scratch})
}

func TestURI(t *testing.T) {
	api := newTestAPI(t)
	for _, tg := range uriTargets(t) {
		t.Run(tg.name, func(t *testing.T) {
			x := newExec(t, tg.tr, tg.become)
			x.Local = tg.name == "controller"

			r := run(t, mustKind(t, `uri: {url: "`+api.URL+`/healthz"}`), x)
			wantStatus(t, r, OK)
			js, _ := r.Data["json"].(map[string]any)
			headers, _ := r.Data["headers"].(map[string]string)
			if r.Data["status"] != 200 || js["status"] != "ok" || headers["x-node"] != "a, b" || !strings.Contains(r.Data["body"].(string), `"etcd":true`) {
				t.Errorf("data %v", r.Data)
			}

			r = run(t, mustKind(t, `uri: {url: "`+api.URL+`/echo?token=abc123", method: POST, body: {node: worker-1, ready: true}, headers: {Authorization: "Bearer s3cret"}, status: [200, 201]}`), x)
			wantStatus(t, r, OK)
			js, _ = r.Data["json"].(map[string]any)
			if js["method"] != "POST" || js["auth"] != "Bearer s3cret" || js["type"] != "application/json" || js["body"] != `{"node":"worker-1","ready":true}` || js["query"] != "token=abc123" {
				t.Errorf("the server saw %v", js)
			}
			for _, secret := range []string{"s3cret", "abc123"} {
				if strings.Contains(r.Command, secret) || strings.Contains(r.Data["url"].(string), secret) {
					t.Errorf("%s shows in the command %q or the url %q", secret, r.Command, r.Data["url"])
				}
			}

			r = run(t, mustKind(t, `uri: {url: "`+api.URL+`/echo", method: PUT, body: "line 1\nit's \"quoted\" \\ @not-a-file\n"}`), x)
			js, _ = r.Data["json"].(map[string]any)
			if js["body"] != "line 1\nit's \"quoted\" \\ @not-a-file\n" || js["type"] != "application/octet-stream" {
				t.Errorf("raw body: %v", js)
			}

			r = run(t, mustKind(t, `uri: {url: "`+api.URL+`/down"}`), x)
			wantErr(t, r, "uri: GET "+api.URL+"/down: status 503, want 200: etcd is not ready")
			if r.Data["status"] != 503 {
				t.Errorf("a failed status is still recorded: %v", r.Data)
			}
			wantStatus(t, run(t, mustKind(t, `uri: {url: "`+api.URL+`/down", status: 503}`), x), OK)

			r = run(t, mustKind(t, `uri: {url: "`+api.URL+`/moved"}`), x)
			wantErr(t, r, "status 302")
			r = run(t, mustKind(t, `uri: {url: "`+api.URL+`/moved", follow_redirects: true}`), x)
			wantStatus(t, r, OK)

			r = run(t, mustKind(t, `uri: {url: "`+api.URL+`/healthz", method: HEAD}`), x)
			wantStatus(t, r, OK)
			if r.Data["body"] != "" || r.Data["headers"].(map[string]string)["content-type"] != "application/json" {
				t.Errorf("HEAD: %v", r.Data)
			}

			r = run(t, mustKind(t, `uri: {url: "`+api.URL+`/big"}`), x)
			if r.Data["body_truncated"] != true || len(r.Data["body"].(string)) != 64<<10 {
				t.Errorf("a big body is cut to 64 KiB: %d bytes, truncated %v", len(r.Data["body"].(string)), r.Data["body_truncated"])
			}
		})
	}
}

// TestURICheckMode checks that check mode makes a GET and sends nothing
// else.
func TestURICheckMode(t *testing.T) {
	api := newTestAPI(t)
	x := newExec(t, targets(t)[0].tr, false)
	r := predict(t, mustKind(t, `uri: {url: "`+api.URL+`/healthz"}`), x, "")
	wantStatus(t, r, OK)
	if r.Data["status"] != 200 {
		t.Errorf("check mode GET: %v", r.Data)
	}
	r = predict(t, mustKind(t, `uri: {url: "`+api.URL+`/echo", method: POST, body: {a: 1}}`), x, "")
	wantStatus(t, r, Changed)
	if api.posts.Load() != 0 || r.Data["would_send"] != true {
		t.Errorf("check mode sent a POST (%d), data %v", api.posts.Load(), r.Data)
	}
}

// TestURIUnreachable checks that a request to an address where nothing
// listens, or nothing answers, fails within its timeout naming it.
func TestURIUnreachable(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() { // accept and say nothing
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	for _, tg := range uriTargets(t) {
		t.Run(tg.name, func(t *testing.T) {
			x := newExec(t, tg.tr, tg.become)
			x.Local = tg.name == "controller"
			wantErr(t, run(t, mustKind(t, `uri: {url: "http://`+closedAddr+`/healthz", timeout: 5s}`), x), "uri: GET http://"+closedAddr+"/healthz:", closedAddr)
			start := time.Now()
			r := run(t, mustKind(t, `uri: {url: "http://`+silent.Addr().String()+`/healthz", timeout: 1s}`), x)
			wantErr(t, r, "no response from "+silent.Addr().String()+" within 1s")
			if d := time.Since(start); d < time.Second || d > 30*time.Second {
				t.Errorf("gave up after %s with a timeout of 1s", d)
			}
		})
	}
}

// TestURIWget makes the requests with wget on a host without curl.
func TestURIWget(t *testing.T) {
	wget, err := lookPath("wget")
	if err != nil {
		t.Skip("no wget on this machine")
	}
	api := newTestAPI(t)
	bin := t.TempDir() // wget and what the script needs, no curl
	for _, name := range []string{"wget", "mktemp", "rm"} {
		p, err := lookPath(name)
		if name == "wget" {
			p = wget
		}
		if err != nil || os.Symlink(p, filepath.Join(bin, name)) != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	x := newExec(t, targets(t)[0].tr, false)
	x.Env = map[string]string{"PATH": bin}
	r := run(t, mustKind(t, `uri: {url: "`+api.URL+`/healthz"}`), x)
	wantStatus(t, r, OK)
	if js, _ := r.Data["json"].(map[string]any); js["status"] != "ok" || r.Data["headers"].(map[string]string)["x-node"] != "a, b" {
		t.Errorf("wget: %v", r.Data)
	}
	r = run(t, mustKind(t, `uri: {url: "`+api.URL+`/echo?token=abc123", method: POST, body: "a 'quoted'\nbody", headers: {Authorization: "Bearer s3cret"}}`), x)
	wantStatus(t, r, OK)
	if js, _ := r.Data["json"].(map[string]any); js["body"] != "a 'quoted'\nbody" || js["auth"] != "Bearer s3cret" || js["query"] != "token=abc123" {
		t.Errorf("wget POST: the server saw %v", js)
	}
	wantErr(t, run(t, mustKind(t, `uri: {url: "`+api.URL+`/down"}`), x), "status 503")

	x.Env = map[string]string{"PATH": t.TempDir()}
	wantErr(t, run(t, mustKind(t, `uri: {url: "`+api.URL+`/healthz"}`), x), "the host has neither curl nor wget")
}

func TestURILoadErrors(t *testing.T) {
	for _, tc := range []struct{ step, want string }{
		{`uri: {url: "ftp://x/"}`, `t.yaml:7:20: uri: url ftp://x/: use http:// or https://`},
		{`uri: {url: "http://"}`, "uri: url http:: no host"},
		{`uri: {url: "http://a/", method: FETCH}`, `uri: method "FETCH": use one of GET, HEAD`},
		{`uri: {url: "http://a/", body: x}`, "uri: a body goes with POST, PUT, PATCH or DELETE"},
		{`uri: {url: "http://a/", status: 99}`, `status "99": use a number from 100 to 599`},
		{`uri: {url: "http://a/", headers: {"X Y": z}}`, `uri: header name "X Y" is not a token`},
		{`uri: {url: "http://a/", method: POST, body: {a: 1}, body_format: raw}`, "uri: body_format: raw takes a string body"},
		{`uri: {url: "http://a/", timeout: soon}`, `bad duration "soon"`},
	} {
		t.Run(tc.step, func(t *testing.T) {
			_, err := parseStep(t, tc.step)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to contain\n%s", err, tc.want)
			}
		})
	}
}

func lookPath(name string) (string, error) { return exec.LookPath(name) }
