package report

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// refStepLabel and refFormatDuration are the plain first versions of
// stepLabel and formatDuration, kept as references for the allocation-free
// ones the reports use.
func refStepLabel(stepID string, index int) string {
	parts := strings.Split(stepID, ".")
	list := "step"
	if len(parts) >= 2 {
		cand := parts[len(parts)-2]
		if _, err := strconv.Atoi(cand); err != nil && cand != "" {
			list = cand
		}
	}
	if index <= 0 && len(parts) > 0 {
		if n, err := strconv.Atoi(parts[len(parts)-1]); err == nil {
			index = n + 1
		}
	}
	return fmt.Sprintf("%s/%d", list, index)
}

func refFormatDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "-"
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}

func checkStepLabel(t *testing.T, id string, index int) {
	t.Helper()
	list, n := stepLabelParts(id, index)
	if got, want := list+"/"+strconv.Itoa(n), refStepLabel(id, index); got != want {
		t.Errorf("stepLabelParts(%q, %d) gives %q, stepLabel %q", id, index, got, want)
	}
}

func TestStepLabelParts(t *testing.T) {
	ids := []string{"", ".", "..", "4.steps.2", "4.verify.0", "rollback.1", "rollback", "steps", "1.2.3", "a.+5.x",
		"a.-5.x", "a.+.x", "a.-.x", "a.99999999999999999999.x", "a.9223372036854775807", "a.9223372036854775808",
		"a.-9223372036854775808", "x.1_0.y", "x.0x10.y", ".steps.", "steps.", ".3", "é.ü.1", "a.<b>.2"}
	for _, id := range ids {
		for _, index := range []int{-1, 0, 1, 7} {
			checkStepLabel(t, id, index)
		}
	}
}

func FuzzStepLabel(f *testing.F) {
	f.Add("4.steps.2", 0)
	f.Add("a.-5.9223372036854775807", -1)
	f.Fuzz(checkStepLabel)
}
