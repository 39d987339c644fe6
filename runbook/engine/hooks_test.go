package engine

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

// webhookServer records the text of every post it gets, on 127.0.0.1,
// and answers status.
type webhookServer struct {
	*httptest.Server
	mu    sync.Mutex
	texts []string
}

func newWebhookServer(t *testing.T, status int) *webhookServer {
	t.Helper()
	w := &webhookServer{}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body struct{ Text string }
		json.Unmarshal(b, &body)
		w.mu.Lock()
		w.texts = append(w.texts, body.Text)
		w.mu.Unlock()
		rw.WriteHeader(status)
	}))
	t.Cleanup(w.Close)
	return w
}

func (w *webhookServer) posts() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.texts)
}

// hookRecords are the final step_finished records of hooks, in order.
func hookRecords(recs []journal.Record) []journal.Record {
	var out []journal.Record
	for _, r := range recs {
		if r.Type == journal.StepFinished && r.Final && r.PhaseKind == hookPhaseKind {
			out = append(out, r)
		}
	}
	return out
}

// Hooks post to a webhook at each moment of a run, in order, with what
// the run is at: started, the canary passed, how it ended.
func TestHooksNotifyAtEachMoment(t *testing.T) {
	w := newWebhookServer(t, http.StatusOK)
	hooks := `hooks:
  on_start:
    - notify_webhook: {url: "` + w.URL + `", text: "start {{ hook.run_id == run.id }} {{ hook.status }}"}
  on_canary_done:
    - notify_webhook: {url: "` + w.URL + `", text: "canary {{ hook.phase }} {{ hook.canary_hosts }}"}
  on_failure:
    - notify_webhook: {url: "` + w.URL + `", text: "failure"}
  on_finish:
    - notify_webhook: {url: "` + w.URL + `", text: "finish {{ hook.status }} {{ hook.report endsWith 'report.html' }}"}
`
	r := runFake(t, upgradeRunbook(hooks), newFakeFleet(okReply), nil)
	if r.err != nil {
		t.Fatal(r.err)
	}
	want := []string{"start true running", `canary Canary ["worker-1"]`, "finish succeeded true"}
	if got := w.posts(); !slices.Equal(got, want) {
		t.Errorf("posts %q, want %q", got, want)
	}
	// on_start comes before the first phase, on_canary_done after the
	// canary's end, on_finish just before run_finished.
	var order []string
	for _, rec := range r.records {
		switch {
		case rec.Type == journal.StepFinished && rec.PhaseKind == hookPhaseKind:
			order = append(order, rec.StepID)
			if rec.Host != "" || rec.Status != journal.StatusOK {
				t.Errorf("hook step %s: host %q, status %s", rec.StepID, rec.Host, rec.Status)
			}
		case rec.Type == journal.PhaseStarted || rec.Type == journal.PhaseFinished || rec.Type == journal.RunFinished:
			order = append(order, rec.Type+" "+rec.Phase)
		}
	}
	got := strings.Join(order, ", ")
	for _, seq := range []string{"hooks.on_start.0, phase_started Check", "phase_finished Canary, hooks.on_canary_done.0, phase_started Roll out",
		"hooks.on_finish.0, run_finished"} {
		if !strings.Contains(got, seq) {
			t.Errorf("order %s: want %q in it", got, seq)
		}
	}
}

// A hook that fails is journaled and warned about and the run goes on: a
// failing shell command, a webhook that must be posted and is refused.
func TestFailingHooksDoNotHaltTheRun(t *testing.T) {
	w := newWebhookServer(t, http.StatusInternalServerError)
	hooks := `hooks:
  on_start:
    - shell: exit 3
    - log: never
  on_canary_done:
    - notify_webhook: {url: "` + w.URL + `", text: "canary", required: true}
`
	f := newFakeFleet(okReply)
	r := runFake(t, upgradeRunbook(hooks), f, nil)
	if r.err != nil || r.res.Status != journal.RunStatusSucceeded {
		t.Fatalf("run: %v", r.err)
	}
	for h, o := range r.outcomes() {
		if o != journal.OutcomeUpgraded {
			t.Errorf("%s: %s", h, o)
		}
	}
	hs := hookRecords(r.records)
	if len(hs) != 2 || hs[0].StepID != "hooks.on_start.0" || hs[0].Status != journal.StatusFailed ||
		hs[1].StepID != "hooks.on_canary_done.0" || hs[1].Status != journal.StatusFailed {
		t.Fatalf("hook records %+v", hs)
	}
	var warnings []string
	for _, m := range recordsOf(r.records, journal.Message) {
		if strings.HasPrefix(m.Text, "warning: hook") {
			warnings = append(warnings, m.Text)
		}
	}
	if len(warnings) != 2 || !strings.Contains(warnings[0], "on_start failed") || !strings.Contains(warnings[1], "the run goes on") {
		t.Errorf("warnings %q", warnings)
	}
	if len(w.posts()) != 1 {
		t.Errorf("posts %q", w.posts())
	}
}

// on_failure runs when the run fails, after every host is settled, and
// sees the failed hosts; on_finish follows it.
func TestOnFailureSeesTheFailedHosts(t *testing.T) {
	hooks := `failure_budget: 1
hooks:
  on_failure:
    - log: "failed {{ hook.failed_hosts }} {{ hook.status }}: {{ hook.summary }}"
  on_finish:
    - log: "finish {{ hook.status }}"
`
	r := runFake(t, upgradeRunbook(hooks), newFakeFleet(failOn("upgrade", "worker-3")), nil)
	wantRunError(t, r.err, journal.RunStatusFailed)
	var texts []string
	lastHost := 0
	for i, rec := range r.records {
		switch rec.Type {
		case journal.Message:
			texts = append(texts, rec.Text)
		case journal.HostFinished:
			lastHost = i
		}
	}
	if len(texts) != 2 || !strings.HasPrefix(texts[0], `failed ["worker-3"] failed: upgrade run `) ||
		!strings.HasSuffix(texts[0], "(failed: worker-3)") || texts[1] != "finish failed" {
		t.Errorf("hook messages %q", texts)
	}
	if first := hookRecords(r.records)[0]; first.Seq < r.records[lastHost].Seq {
		t.Errorf("on_failure ran (seq %d) before the last host finished (seq %d)", first.Seq, r.records[lastHost].Seq)
	}
}

// In a dry run, hooks are predicted like any step: nothing is posted.
func TestHooksInADryRunPostNothing(t *testing.T) {
	w := newWebhookServer(t, http.StatusOK)
	hooks := `hooks:
  on_finish:
    - notify_webhook: {url: "` + w.URL + `", text: "finish {{ hook.dry_run }}"}
`
	r := runFake(t, upgradeRunbook(hooks), newFakeFleet(okReply), func(o *Options) { o.DryRun = true })
	if r.err != nil {
		t.Fatal(r.err)
	}
	hs := hookRecords(r.records)
	if len(w.posts()) != 0 || len(hs) != 1 || hs[0].Status != journal.StatusChanged || !hs[0].DryRun {
		t.Errorf("posts %q, hook records %+v", w.posts(), hs)
	}
}
