package report

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// stepLabel names a step by the list it belongs to and its 1-based index:
// "steps/3", "verify/1", "rollback/2". Step ids look like "4.steps.2",
// "4.verify.0" or "rollback.1"; anything else falls back to "step/N".
func stepLabel(stepID string, index int) string {
	list, n := stepLabelParts(stepID, index)
	return list + "/" + strconv.Itoa(n)
}

// stepTitle names a step for a person: its label and name, "steps/3
// install cri-o", or "connect" for the engine's connect.
func stepTitle(stepID string, index int, name string) string {
	if stepID == "connect" {
		return "connect"
	}
	return stepLabel(stepID, index) + " " + name
}

// formatDuration prints a duration the way an operator reads it: "0.4s",
// "21.0s", "2m05s", "1h02m".
func formatDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "-"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int64(d.Minutes()), int(d.Seconds())%60)
	default:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh%02dm", int64(d.Hours()), int(d.Minutes())%60)
	}
}

// formatClock prints the time of day in UTC.
func formatClock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("15:04:05")
}

// formatTime prints a full UTC timestamp.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// firstLine returns the first non-empty line of s, cut to max runes.
func firstLine(s string, max int) string {
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line != "" {
			return clip(line, max)
		}
	}
	return ""
}

// clip cuts s to at most max runes, marking the cut with "…".
func clip(s string, max int) string {
	if max <= 0 {
		return s
	}
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max-1]) + "…"
}

// rcString prints an exit code, "-" when there is none.
func rcString(rc *int) string {
	if rc == nil {
		return "-"
	}
	return strconv.Itoa(*rc)
}

// sanitize removes control characters (escape sequences above all) from
// journal text bound for a terminal, keeping tabs.
func sanitize(s string) string {
	if strings.IndexFunc(s, isControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\t' {
			return ' '
		}
		if isControl(r) {
			return -1
		}
		return r
	}, s)
}

func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0)
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
