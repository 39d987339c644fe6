package report

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

// The browser test renders the HTML report in headless Chromium: a
// screenshot, and the DOM after the page's own self-test (report.html#selftest)
// has counted the bars, clicked one and checked that its output showed. It
// skips when Chromium is missing, unless RUNBOOK_REQUIRE_CHROMIUM=1 (CI).

// screenshotCopy is where a run's screenshot is kept for a person to look
// at: /tmp/runbook-report-NAME.png.
func screenshotCopy(name string) string { return "/tmp/runbook-report-" + name + ".png" }

// chromiumFlags keep headless Chromium off the network and out of the
// user's profile.
func chromiumFlags(userDataDir string) []string {
	return []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + userDataDir, "--window-size=1400,1000",
	}
}

func chromium(t *testing.T) string {
	t.Helper()
	path := os.Getenv("RUNBOOK_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("RUNBOOK_REQUIRE_CHROMIUM") == "1" {
			t.Fatalf("chromium is required (RUNBOOK_REQUIRE_CHROMIUM=1) and missing: %v", err)
		}
		t.Skipf("no chromium at %s (apt-get install chromium; RUNBOOK_REQUIRE_CHROMIUM=1 makes this a failure)", path)
	}
	return path
}

func runChromium(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(chromiumFlags(t.TempDir()), args...)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.String()
}

type selftestResult struct {
	Bars           int      `json:"bars"`
	Keys           []string `json:"keys"`
	Errors         []string `json:"errors"`
	FailedBarWidth float64  `json:"failedBarWidth"`
	Link           *struct {
		Host          string `json:"host"`
		Card          string `json:"card"`
		Target        string `json:"target"`
		VisibleBefore bool   `json:"visibleBefore"`
		Visible       bool   `json:"visible"`
		InView        bool   `json:"inView"`
		Text          string `json:"text"`
	} `json:"link"`
	Click *struct {
		Host          string `json:"host"`
		StepID        string `json:"stepId"`
		VisibleBefore bool   `json:"visibleBefore"`
		Open          bool   `json:"open"`
		Visible       bool   `json:"visible"`
		InView        bool   `json:"inView"`
		Text          string `json:"text"`
	} `json:"click"`
}

var selftestPre = regexp.MustCompile(`(?s)<pre id="selftest-result">(.*?)</pre>`)

// browserRuns are the runs the browser test renders: journals of the lab
// (the safe upgrade; the faulty fleet, worker-3 rolled back), the
// hand-made fixture and a crashed run, a run of 200 hosts with a
// canary, a two-minute soak and one failure, and a dry run with diffs and
// hooks.
func browserRuns(t *testing.T) map[string][]journal.Record {
	return map[string][]journal.Record{
		"success":  loadJournal(t, "success.jsonl"),
		"faulty":   loadJournal(t, "faulty.jsonl"),
		"journal":  loadJournal(t, "journal.jsonl"),
		"crash":    loadJournal(t, "crash.jsonl"),
		"fleet200": fleetRun(200, 137),
		"dryrun":   dryRunJournal(),
	}
}

// The report in headless Chromium: the page's self-test counts the bars,
// clicks a failed one and the failed host's link in what to do next, and
// each run is screenshot at 1× (kept as /tmp/runbook-report-NAME.png).
func TestBrowserReport(t *testing.T) {
	bin := chromium(t)
	for _, tt := range []struct {
		run        string
		failedHost string // whose link and failed step's output the page must show
		clickStep  string // the bar the self-test clicks (a failed one, else the last)
		clickText  string // in that step's output
	}{
		{"success", "", "", ""},
		{"faulty", "worker-3", "4.steps.8", "Job for crio.service failed because the control process exited with error code."},
		{"journal", "worker-4", "4.steps.2", "Job for crio.service failed"},
		{"crash", "", "", ""},
		{"fleet200", "node-0137", "2.steps.4", "healthz: connection refused"},
		{"dryrun", "", "1.steps.1", "dry run: shell cannot predict its effect"}, // the last bar: a skipped step
	} {
		t.Run(tt.run, func(t *testing.T) {
			recs := browserRuns(t)[tt.run]
			page := filepath.Join(t.TempDir(), "report.html")
			html := renderHTML(t, recs)
			if err := os.WriteFile(page, []byte(html), 0o600); err != nil {
				t.Fatal(err)
			}
			res := runSelftest(t, bin, page)
			if len(res.Errors) > 0 {
				t.Errorf("script errors in the page: %q", res.Errors)
			}
			want := expectedBars(recs)
			sort.Strings(res.Keys)
			if res.Bars != len(want) || fmt.Sprint(res.Keys) != fmt.Sprint(want) {
				t.Errorf("the browser sees %d bars %v\nwant one per host × step execution (%d): %v", res.Bars, res.Keys, len(want), want)
			}
			c := res.Click
			if c == nil {
				t.Fatal("the self-test clicked no bar")
			}
			if c.VisibleBefore || !c.Open || !c.Visible || !c.InView {
				t.Errorf("clicking the bar of %s %s: output visible before %v, after: open %v visible %v in view %v",
					c.Host, c.StepID, c.VisibleBefore, c.Open, c.Visible, c.InView)
			}
			switch {
			case tt.failedHost != "":
				checkFailedHost(t, html, res, tt.failedHost, tt.clickStep, tt.clickText)
			case tt.clickStep != "" && (c.StepID != tt.clickStep || !strings.Contains(c.Text, tt.clickText)):
				t.Errorf("clicked %s %s showing %q; want %s showing %q", c.Host, c.StepID, c.Text, tt.clickStep, tt.clickText)
			}
			shot := filepath.Join(t.TempDir(), "report.png")
			runChromium(t, bin, "--screenshot="+shot, "file://"+page)
			checkPNG(t, shot)
			if data, err := os.ReadFile(shot); err == nil && os.WriteFile(screenshotCopy(tt.run), data, 0o644) == nil {
				t.Logf("screenshot: %s", screenshotCopy(tt.run))
			}
		})
	}
}

func runSelftest(t *testing.T, bin, page string) selftestResult {
	t.Helper()
	dom := runChromium(t, bin, "--virtual-time-budget=5000", "--dump-dom", "file://"+page+"#selftest")
	all := selftestPre.FindAllStringSubmatch(dom, -1)
	if len(all) != 1 {
		t.Fatalf("no self-test result in the DOM (did the page's script run?):\n%.2000s", dom)
	}
	var res selftestResult
	if err := json.Unmarshal([]byte(html.UnescapeString(all[0][1])), &res); err != nil {
		t.Fatalf("self-test result %q: %v", all[0][1], err)
	}
	return res
}

// checkFailedHost checks that the page leads to the failed host: its name
// links to its card at the top, its failed step's link opens the step's
// output with its stderr, and its failed bar is wide enough to see.
func checkFailedHost(t *testing.T, page string, res selftestResult, host, stepID, text string) {
	t.Helper()
	if !regexp.MustCompile(`<a class="goto host-link" href="#h\d+" data-target="h\d+">` + regexp.QuoteMeta(host) + `</a>`).MatchString(page) {
		t.Errorf("the page's top has no link to %s's card", host)
	}
	if !strings.Contains(page, html.EscapeString(text)) && !strings.Contains(page, strings.ReplaceAll(html.EscapeString(text), "&#34;", "&#34;")) {
		t.Errorf("the page lacks %s's stderr %q", host, text)
	}
	l := res.Link
	if l == nil || l.Host != host || !strings.HasPrefix(l.Card, "#h") {
		t.Fatalf("the self-test found no link to %s's failed step: %+v", host, l)
	}
	if l.VisibleBefore || !l.Visible || !l.InView || !strings.Contains(l.Text, text) {
		t.Errorf("following %s's failed-step link: visible before %v, after %v, in view %v, showing %q; want %q",
			host, l.VisibleBefore, l.Visible, l.InView, l.Text, text)
	}
	if c := res.Click; c.Host != host || c.StepID != stepID || !strings.Contains(c.Text, text) {
		t.Errorf("clicked %s %s showing %q; want %s %s showing %q", c.Host, c.StepID, c.Text, host, stepID, text)
	}
	if res.FailedBarWidth < 8 {
		t.Errorf("the failed bar is %.1f pixels wide at 1×: too thin to see", res.FailedBarWidth)
	}
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	if cfg.Width != 1400 || cfg.Height != 1000 {
		t.Errorf("screenshot is %dx%d, want 1400x1000", cfg.Width, cfg.Height)
	}
}
