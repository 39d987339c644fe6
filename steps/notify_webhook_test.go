package steps

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// webhookServer is a loopback chat webhook that keeps what it was sent
// and answers with status.
type webhookServer struct {
	*httptest.Server
	mu       sync.Mutex
	messages []map[string]any
	status   int
}

func newWebhookServer(t *testing.T) *webhookServer {
	t.Helper()
	s := &webhookServer{status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		body, _ := io.ReadAll(r.Body)
		json.Unmarshal(body, &m)
		s.mu.Lock()
		defer s.mu.Unlock()
		if r.URL.Path == "/services/T0/B0/secret-token" && r.Header.Get("Content-Type") == "application/json" {
			s.messages = append(s.messages, m)
		}
		w.WriteHeader(s.status)
		io.WriteString(w, "ok")
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *webhookServer) received() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.messages...)
}

func TestNotifyWebhook(t *testing.T) {
	hook := newWebhookServer(t)
	url := hook.URL + "/services/T0/B0/secret-token"
	x := newExec(t, nil, false) // posts go from the controller: no transport needed
	var warnings []string
	x.Logf = func(format string, args ...any) { warnings = append(warnings, fmt.Sprintf(format, args...)) }

	r := run(t, mustKind(t, `notify_webhook: {url: "`+url+`", text: "canary worker-1 upgraded"}`), x)
	wantStatus(t, r, OK)
	if got := hook.received(); len(got) != 1 || got[0]["text"] != "canary worker-1 upgraded" || r.Data["delivered"] != true {
		t.Fatalf("received %v, data %v", got, r.Data)
	}
	r = run(t, mustKind(t, `notify_webhook: {url: "`+url+`", body: {text: "t", blocks: [{type: section}]}}`), x)
	wantStatus(t, r, OK)
	if got := hook.received(); len(got) != 2 || got[1]["blocks"] == nil {
		t.Errorf("a body of one's own: %v", got)
	}

	// A failure is recorded and warned about; the step stays ok.
	hook.mu.Lock()
	hook.status = http.StatusInternalServerError
	hook.mu.Unlock()
	r = run(t, mustKind(t, `notify_webhook: {url: "`+url+`", text: x}`), x)
	wantStatus(t, r, OK)
	if r.Data["delivered"] != false || r.Data["status"] != 500 || !strings.Contains(fmt.Sprint(r.Data["warning"]), "status 500") || len(warnings) != 1 {
		t.Errorf("data %v, warnings %q", r.Data, warnings)
	}
	// ... unless it is required.
	wantErr(t, run(t, mustKind(t, `notify_webhook: {url: "`+url+`", text: x, required: true}`), x), "notify_webhook: "+hook.URL+"/…: status 500")

	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := closed.Addr().String()
	closed.Close()
	r = run(t, mustKind(t, `notify_webhook: {url: "http://`+addr+`/services/T0/B0/secret-token", text: x, timeout: 2s}`), x)
	wantStatus(t, r, OK)
	if !strings.Contains(fmt.Sprint(r.Data["warning"]), addr) {
		t.Errorf("unreachable: %v", r.Data)
	}

	// The webhook's secret path shows nowhere.
	for _, s := range append(warnings, fmt.Sprint(r.Data), mustKind(t, `notify_webhook: {url: "`+url+`", text: x}`).Describe()) {
		if strings.Contains(s, "secret-token") {
			t.Errorf("the webhook secret shows: %s", s)
		}
	}

	// Check mode posts nothing.
	n := len(hook.received())
	r = predict(t, mustKind(t, `notify_webhook: {url: "`+url+`", text: x}`), x, "")
	wantStatus(t, r, Changed)
	if len(hook.received()) != n {
		t.Error("check mode posted")
	}
}

func TestNotifyWebhookLoadErrors(t *testing.T) {
	for _, tc := range []struct{ step, want string }{
		{`notify_webhook: {url: "https://hooks.example/x"}`, "give either text: (a message) or body:"},
		{`notify_webhook: {url: "https://hooks.example/x", text: a, body: {b: 1}}`, "give either text: (a message) or body:"},
		{`notify_webhook: {text: a}`, "notify_webhook: needs url:"},
		{`notify_webhook: {url: "hooks.example/x", text: a}`, "use http:// or https://"},
	} {
		_, err := parseStep(t, tc.step)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.step, err, tc.want)
		}
	}
}
