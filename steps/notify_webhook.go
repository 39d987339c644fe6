package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/runbookhq/runbook/runbook"
)

func init() { register[NotifyWebhook]("notify_webhook") }

// NotifyWebhook posts a message to a chat webhook: `notify_webhook: {url,
// text or body, headers, timeout, required}`. text sends {"text": TEXT},
// the body Slack's and Microsoft Teams' incoming webhooks both take; body
// sends any JSON of your own. The post goes from the controller, whatever
// host the step is for: a notification is about the run, and nodes often
// have no way out to a chat service. It is best effort: a post that fails
// (no answer within timeout, default 10s, or a status other than 2xx) is
// recorded in the step's data and warned about, and the step is still ok,
// unless required: true makes it fail the host. The URL, which carries
// the webhook's secret, is shown as its scheme and host only.
//
// In check mode nothing is posted; the step says it would post.
type NotifyWebhook struct {
	URL      string            `yaml:"url" desc:"The webhook URL (Slack, Teams, or any that takes JSON)." required:"true"`
	Text     string            `yaml:"text" desc:"The message: the body is {\"text\": TEXT}."`
	Body     any               `yaml:"body" desc:"A JSON body of your own, instead of text."`
	Headers  map[string]string `yaml:"headers" desc:"Request headers."`
	Timeout  runbook.Duration  `yaml:"timeout" desc:"How long to wait for the webhook (default 10s)."`
	Required bool              `yaml:"required" desc:"A failed post fails the host (default: it is recorded and warned about)."`
}

// Validate implements runbook.StepSpec.
func (n *NotifyWebhook) Validate(c *runbook.Check) {
	if n.URL == "" {
		c.Errorf("", "notify_webhook: needs url:")
	} else if !runbook.HasTemplate(n.URL) {
		if err := checkURL(n.URL); err != nil {
			c.Errorf("url", "notify_webhook: %v", err)
		}
	}
	if (n.Text == "") == (n.Body == nil) {
		c.Errorf("", "notify_webhook: give either text: (a message) or body: (JSON of your own)")
	}
	for k, v := range n.Headers {
		if !runbook.HasTemplate(k + v) {
			if err := checkHeader(k, v); err != nil {
				c.Errorf("headers", "notify_webhook: %v", err)
			}
		}
	}
}

// webhookHost is the URL as messages show it: scheme and host.
func webhookHost(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return "(a URL that does not parse)"
	}
	return p.Scheme + "://" + p.Host + "/…"
}

// Describe implements Kind.
func (n *NotifyWebhook) Describe() string {
	s := "notify_webhook: post to " + webhookHost(n.URL)
	if n.Text != "" {
		s += fmt.Sprintf(" %q", n.Text)
	}
	if !n.Required {
		s += " (best effort)"
	}
	return s
}

func (n *NotifyWebhook) request() (httpRequest, error) {
	if err := checkURL(n.URL); err != nil {
		return httpRequest{}, fmt.Errorf("url %s: %v", webhookHost(n.URL), err)
	}
	var payload any = n.Body
	if n.Body == nil {
		payload = map[string]string{"text": n.Text}
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return httpRequest{}, fmt.Errorf("body: %v", err)
	}
	timeout := 10 * time.Second
	if n.Timeout > 0 {
		timeout = n.Timeout.D()
	}
	req := httpRequest{Method: "POST", URL: n.URL, Body: body, HasBody: true, Timeout: timeout,
		Headers: map[string]string{"Content-Type": "application/json"}}
	for k, v := range n.Headers {
		if err := checkHeader(k, v); err != nil {
			return req, err
		}
		req.Headers[k] = v
	}
	return req, nil
}

// Run implements Kind.
func (n *NotifyWebhook) Run(ctx context.Context, x *Exec) Result {
	data := map[string]any{"url": webhookHost(n.URL), "required": n.Required}
	err := n.post(ctx, data)
	if err == nil {
		data["delivered"] = true
		return Result{Status: OK, Data: data}
	}
	err = fmt.Errorf("notify_webhook: %s: %w", webhookHost(n.URL), err)
	data["delivered"] = false
	if n.Required {
		return Result{Status: Failed, Data: data, Err: err}
	}
	data["warning"] = err.Error()
	if x.Logf != nil {
		x.Logf("warning: %v (best effort: the run goes on)", err)
	}
	return Result{Status: OK, Data: data}
}

// post sends the message and reports why it was not delivered.
func (n *NotifyWebhook) post(ctx context.Context, data map[string]any) error {
	req, err := n.request()
	if err != nil {
		return err
	}
	resp, err := fetchLocal(ctx, req)
	if err != nil {
		return err
	}
	data["status"] = resp.Status
	if resp.Status < 200 || resp.Status > 299 {
		return fmt.Errorf("status %d%s", resp.Status, bodyHint(resp.Body))
	}
	return nil
}

// Predict implements Predictor: nothing is posted.
func (n *NotifyWebhook) Predict(context.Context, *Exec) Result {
	return Result{Status: Changed, Data: map[string]any{"url": webhookHost(n.URL), "would_post": true}}
}
