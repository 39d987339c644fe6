package report

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

func TestWrapLine(t *testing.T) {
	for _, tt := range []struct {
		line  string
		limit int
		want  []string
	}{
		{"", 20, []string{""}},
		{"short line", 20, []string{"short line"}},
		{"Failed with result 'exit-code'. Starting again", 20, []string{"Failed with result", "'exit-code'.", "Starting again"}},
		{"     Loaded: loaded (/lib/systemd)", 20, []string{"     Loaded: loaded", "(/lib/systemd)"}},
		{"abcdefghijklmnopqrstuvwxyz0123456789 end", 20, []string{"abcdefghijklmnopqrst", "uvwxyz0123456789 end"}},
		{"naïve ünïcödé wörds hére", 12, []string{"naïve", "ünïcödé", "wörds hére"}},
	} {
		got := wrapLine(tt.line, tt.limit)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("wrapLine(%q, %d) = %q, want %q", tt.line, tt.limit, got, tt.want)
		}
		for _, l := range got {
			if ansi.StringWidth(l) > tt.limit {
				t.Errorf("wrapLine(%q, %d): %q is wider than %d", tt.line, tt.limit, l, tt.limit)
			}
		}
	}
}
