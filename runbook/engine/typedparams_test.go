package engine

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

// typedParamsRunbook uses a bool, an integer, a float and a list param in
// expressions, which fail on the text they print as ("false" is truthy,
// "3" + 1 is an error).
const typedParamsRunbook = `runbook: typed
targets: workers
params:
  flag: {default: false}
  n: {default: 3}
  ratio: {default: 1.5}
  pkgs: {default: [a, b]}
phases:
  - name: Canary
    kind: canary
    hosts: 1
    steps:
      - shell: upgrade
    approve: Go on?
  - name: Roll out
    kind: batch
    steps:
      - shell: 'count {{ params.n + 1 }} {{ params.ratio * 2 }} {{ len(params.pkgs) }}'
        when: not params.flag
`

// TestTypedParamsSurviveResume: a run whose params are a bool, numbers and
// a list halts at its approval and resumes with the same params, as typed.
func TestTypedParamsSurviveResume(t *testing.T) {
	state := t.TempDir()
	f := newFakeFleet(okReply)
	e, err := New(Options{Runbook: loadRunbook(t, typedParamsRunbook), Inventory: loadInventory(t, fleetInventory),
		StateDir: state, Connector: f, Operator: "tester", Given: map[string]any{"n": "5"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Start(context.Background())
	var ae *ApprovalError
	if !errors.As(err, &ae) {
		t.Fatalf("want an approval halt, got %v", err)
	}
	log, _ := journal.ReadFile(res.Journal)
	if p := log.Records[0].Params; p["flag"] != false || p["n"] != 5 || p["ratio"] != 1.5 {
		t.Fatalf("journaled params %#v", p)
	}
	r, err := Resume(context.Background(), ResumeOptions{Options: Options{StateDir: state, Connector: f,
		Approver: &approver{answer: true}}, RunID: res.RunID})
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	res2, err := r.Continue(context.Background())
	if err != nil || res2.Status != journal.RunStatusSucceeded {
		t.Fatalf("resumed: %v %+v", err, res2)
	}
	if n := f.count("count 6 3 2"); n != 5 {
		t.Fatalf("`count 6 3 2` ran %d times, want 5 (the batch's hosts); counts %v", n, f.counts)
	}
}

func TestGivenTextTakesTheDefaultsType(t *testing.T) {
	rb := loadRunbook(t, typedParamsRunbook)
	for _, tc := range []struct {
		given map[string]any
		want  any
		err   string
	}{
		{map[string]any{"n": "7"}, 7, ""},
		{map[string]any{"flag": "true"}, true, ""},
		{map[string]any{"ratio": "2"}, 2.0, ""},
		{map[string]any{"n": "seven"}, nil, "-e n=seven: not an integer"},
		{map[string]any{"flag": "maybe"}, nil, "not a bool"},
		{map[string]any{"n": 9}, 9, ""},
		{map[string]any{"pkgs": "[c, d]"}, nil, ""},
		{map[string]any{"pkgs": "c"}, nil, "not a list"},
	} {
		got, err := typedGiven(rb, tc.given)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v: err %v, want %q", tc.given, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", tc.given, err)
			continue
		}
		for k, v := range got {
			if k == "pkgs" {
				if l, ok := v.([]any); !ok || len(l) != 2 || l[0] != "c" {
					t.Errorf("%v: got %#v, want [c d]", tc.given, v)
				}
				continue
			}
			if v != tc.want {
				t.Errorf("%v: got %#v, want %#v", tc.given, v, tc.want)
			}
		}
	}
}
