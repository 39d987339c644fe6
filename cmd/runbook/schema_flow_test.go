package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSchemaHasTheFlowKeys: `runbook schema` describes what SPEC §4a adds
// where an editor looks for it: phase targets, canary hosts, order_by and
// order; a step's loop, loop_var, notify and block/rescue/always; the
// runbook's handlers; counts and durations that take a {{ }} template; and
// the groups and hostvars expressions see.
func TestSchemaHasTheFlowKeys(t *testing.T) {
	code, out, errOut := runCLI(t, "schema")
	if code != 0 {
		t.Fatalf("schema: exit %d: %s", code, errOut)
	}
	var s struct {
		Description string                    `json:"description"`
		Properties  map[string]map[string]any `json:"properties"`
		Defs        map[string]struct {
			Properties map[string]map[string]any `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	for where, keys := range map[string][]string{
		"runbook": {"handlers", "failure_budget", "concurrency"},
		"phase":   {"targets", "hosts", "order_by", "order", "serial", "soak", "pause_between"},
		"step":    {"loop", "loop_var", "notify", "block", "rescue", "always", "retries", "delay", "timeout"},
	} {
		props := s.Properties
		if where != "runbook" {
			props = s.Defs[where].Properties
		}
		for _, k := range keys {
			if props[k] == nil {
				t.Errorf("%s: no %s", where, k)
			}
		}
	}
	// A templated count accepts {{ }} besides its own form.
	for where, k := range map[string]string{"phase": "serial", "step": "retries"} {
		b, _ := json.Marshal(s.Defs[where].Properties[k])
		if !strings.Contains(string(b), `A {{ }} template over params and vars`) {
			t.Errorf("%s.%s takes no template: %s", where, k, b)
		}
	}
	if b, _ := json.Marshal(s.Defs["phase"].Properties["order"]); !strings.Contains(string(b), `"shuffle"`) {
		t.Errorf("phase.order: %s", b)
	}
	for _, name := range []string{"groups", "hostvars", "loop_index"} {
		if !strings.Contains(s.Description, name) {
			t.Errorf("the schema's description does not say expressions see %s: %q", name, s.Description)
		}
	}
}
