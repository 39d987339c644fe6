package report

import (
	"reflect"
	"testing"
)

// TestCleanSummaryCopiesOnlyWhatChanges: every string of the summary a
// terminal shows is cleaned, deep in its hosts, steps and maps, without
// touching the summary given; a summary with nothing to clean comes back
// as it is, with no copy.
func TestCleanSummaryCopiesOnlyWhatChanges(t *testing.T) {
	const esc, clean = "ok\x1b]0;owned\x07 done\ttab", "ok]0;owned done tab"
	dirty := &Summary{
		RunID:   "r1",
		Params:  map[string]string{"a\x1b[2J": "v\x1b[1m", "b": "plain"},
		Targets: []string{"web-1", "web-\x1b[31m2"},
		Hosts: []HostSummary{
			{Name: "web-1", Steps: []StepSummary{{Step: "fine", Stderr: "fine"}}},
			{Name: "web-2", Steps: []StepSummary{{Step: "fine"}, {Step: "x", Stderr: esc}}},
		},
	}
	before := deepCopySummary(t, dirty)
	got := cleanSummary(dirty)
	if !reflect.DeepEqual(dirty, before) {
		t.Fatal("cleaning changed the summary it was given")
	}
	if got.Hosts[1].Steps[1].Stderr != clean {
		t.Errorf("stderr %q, want %q", got.Hosts[1].Steps[1].Stderr, clean)
	}
	if got.Targets[1] != "web-[31m2" || got.Targets[0] != "web-1" {
		t.Errorf("targets %q", got.Targets)
	}
	if len(got.Params) != 2 || got.Params["a[2J"] != "v[1m" || got.Params["b"] != "plain" {
		t.Errorf("params %q", got.Params)
	}
	if got.Hosts[0].Steps[0].Step != "fine" || got.Hosts[1].Steps[0].Step != "fine" || got.RunID != "r1" {
		t.Errorf("clean parts changed: %+v", got)
	}
	// A clean summary is returned as it is.
	if c := cleanSummary(got); c != got {
		t.Error("a clean summary was copied")
	}
	// What it allocates does not grow with the summary: no copy.
	big := &Summary{Params: got.Params, Targets: got.Targets}
	for range 100 {
		big.Hosts = append(big.Hosts, got.Hosts...)
	}
	small, large := testing.AllocsPerRun(10, func() { cleanSummary(got) }), testing.AllocsPerRun(10, func() { cleanSummary(big) })
	if large > small {
		t.Errorf("cleaning a clean summary allocates with its size: %v times for 2 hosts, %v for 200", small, large)
	}
}

// deepCopySummary copies the parts of s that the test sets.
func deepCopySummary(t *testing.T, s *Summary) *Summary {
	t.Helper()
	c := *s
	c.Params = map[string]string{}
	for k, v := range s.Params {
		c.Params[k] = v
	}
	c.Targets = append([]string(nil), s.Targets...)
	c.Hosts = make([]HostSummary, len(s.Hosts))
	for i, h := range s.Hosts {
		h.Steps = append([]StepSummary(nil), h.Steps...)
		c.Hosts[i] = h
	}
	return &c
}
