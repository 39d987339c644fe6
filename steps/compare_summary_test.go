package steps

import "testing"

func TestChangedSummaryNamesChangedLines(t *testing.T) {
	tests := []struct {
		name, before, after, want string
	}{
		{"recreated pods", "default/api a1 1\ndefault/web w1 1\nkube/dns d1 1\n", "default/api a2 2\ndefault/web w1 1\nkube/dns d2 2\n", "default/api, kube/dns"},
		{"added and removed", "a 1\nb 1\n", "b 1\nc 1\n", "a, c"},
		{"duplicate lines count", "x 1\nx 1\n", "x 1\n", "x"},
		{"whitespace", "a 1\n", "a 1\n\n", "whitespace only"},
		{"many", "a\nb\nc\nd\ne\nf\ng\n", "", "a, b, c, d, e and 2 more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := changedSummary(tt.before, tt.after); got != tt.want {
				t.Errorf("changedSummary = %q, want %q", got, tt.want)
			}
		})
	}
}
