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
)

// The browser test renders the HTML report in headless Chromium: a
// screenshot, and the DOM after the page's own self-test (report.html#selftest)
// has counted the bars, clicked one and checked that its output showed. It
// skips when Chromium is missing, unless RUNBOOK_REQUIRE_CHROMIUM=1 (CI).

const screenshotCopy = "/tmp/runbook-report.png"

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
	Bars   int      `json:"bars"`
	Keys   []string `json:"keys"`
	Errors []string `json:"errors"`
	Click  *struct {
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

func TestBrowserReport(t *testing.T) {
	bin := chromium(t)
	for _, tt := range []struct {
		fixture   string
		clickHost string
		clickStep string
		clickText string
	}{
		{"journal", "worker-4", "4.steps.2", "Job for crio.service failed"},
		{"crash", "", "", ""},
	} {
		t.Run(tt.fixture, func(t *testing.T) {
			recs := loadJournal(t, tt.fixture+".jsonl")
			page := filepath.Join(t.TempDir(), "report.html")
			if err := os.WriteFile(page, []byte(renderHTML(t, recs)), 0o600); err != nil {
				t.Fatal(err)
			}
			dom := runChromium(t, bin, "--virtual-time-budget=5000", "--dump-dom", "file://"+page+"#selftest")
			all := selftestPre.FindAllStringSubmatch(dom, -1)
			if len(all) != 1 {
				t.Fatalf("no self-test result in the DOM (did the page's script run?):\n%.2000s", dom)
			}
			m := all[0]
			var res selftestResult
			if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &res); err != nil {
				t.Fatalf("self-test result %q: %v", m[1], err)
			}
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
			if tt.clickHost != "" && (c.Host != tt.clickHost || c.StepID != tt.clickStep || !strings.Contains(c.Text, tt.clickText)) {
				t.Errorf("clicked %s %s showing %q; want %s %s showing %q", c.Host, c.StepID, c.Text, tt.clickHost, tt.clickStep, tt.clickText)
			}

			if tt.fixture != "journal" {
				return
			}
			shot := filepath.Join(t.TempDir(), "report.png")
			runChromium(t, bin, "--screenshot="+shot, "file://"+page)
			checkPNG(t, shot)
			if data, err := os.ReadFile(shot); err == nil && os.WriteFile(screenshotCopy, data, 0o644) == nil {
				t.Logf("screenshot: %s", screenshotCopy)
			}
		})
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
