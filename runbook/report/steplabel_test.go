package report

import (
	"strconv"
	"strings"
	"testing"
)

func TestStepLabelParts(t *testing.T) {
	for _, tt := range []struct {
		id    string
		index int
		want  string
	}{
		{"4.steps.2", 0, "steps/3"}, {"4.steps.2", 3, "steps/3"}, {"3.verify.0", 1, "verify/1"},
		{"3.soak-verify.4", 5, "soak-verify/5"}, {"rollback.steps.5", 6, "rollback/6"}, {"rollback.1", 0, "rollback/2"},
		{"rollback", 0, "step/0"}, {"", 0, "step/0"}, {"odd", 5, "step/5"}, {"1.2.3", 0, "step/4"}, {".steps.", 2, "steps/2"},
		{"a.99999999999999999999.x", 1, "99999999999999999999/1"}, {"é.ü.1", 0, "ü/2"},
		{"4.steps.handlers.1.0", 1, "handlers/1"}, {"4.steps.2.rescue.0", 0, "rescue/1"}, {"handlers.0.2", 0, "handlers/3"},
	} {
		if got := stepLabel(tt.id, tt.index); got != tt.want {
			t.Errorf("stepLabel(%q, %d) = %q, want %q", tt.id, tt.index, got, tt.want)
		}
	}
}

func FuzzStepLabel(f *testing.F) {
	f.Add("4.steps.2", 0)
	f.Add("a.-5.9223372036854775807", -1)
	f.Fuzz(func(t *testing.T, id string, index int) {
		list, n := stepLabelParts(id, index)
		if list == "" || index > 0 && n != index {
			t.Errorf("stepLabelParts(%q, %d) = %q, %d", id, index, list, n)
		}
		if wantList, wantN := stepLabelPartsSplit(id, index); list != wantList || n != wantN {
			t.Errorf("stepLabelParts(%q, %d) = %q, %d; the split reading gives %q, %d", id, index, list, n, wantList, wantN)
		}
	})
}

// stepLabelPartsSplit is stepLabelParts as first written, splitting the id:
// the oracle the fuzz test holds the in-place reading to.
func stepLabelPartsSplit(stepID string, index int) (string, int) {
	parts := strings.Split(stepID, ".")
	list := "step"
	if len(parts) >= 2 {
		if cand := parts[len(parts)-2]; cand != "" {
			if _, err := strconv.Atoi(cand); err != nil {
				list = cand
			}
		}
	}
	if len(parts) >= 3 && parts[len(parts)-3] == "handlers" && list == "step" {
		list = "handlers"
	}
	if parts[0] == "rollback" && len(parts) >= 2 {
		list = "rollback"
	}
	if index <= 0 {
		if n, err := strconv.Atoi(parts[len(parts)-1]); err == nil {
			index = n + 1
		}
	}
	return list, index
}
