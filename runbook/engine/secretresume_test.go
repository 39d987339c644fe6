package engine

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

// TestResumeAsksForSecret: a secret param is never journaled; resume asks
// for it when it can, and otherwise says how to give it without putting it
// in argv.
func TestResumeAsksForSecret(t *testing.T) {
	src := strings.Replace(typedParamsRunbook, "params:\n", "params:\n  token: {secret: true, required: true}\n", 1)
	state := t.TempDir()
	f := newFakeFleet(okReply)
	e, err := New(Options{Runbook: loadRunbook(t, src), Inventory: loadInventory(t, fleetInventory),
		StateDir: state, Connector: f, Operator: "tester", Given: map[string]any{"token": "S3cr3t"}})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := e.Start(context.Background())
	_, err = Resume(context.Background(), ResumeOptions{Options: Options{StateDir: state, Connector: f}, RunID: res.RunID})
	var pe *ParamError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "-e @FILE") || strings.Contains(err.Error(), "token=") {
		t.Fatalf("resume without the secret: %v", err)
	}
	var asked []string
	r, err := Resume(context.Background(), ResumeOptions{Options: Options{StateDir: state, Connector: f,
		Approver: &approver{answer: true}}, RunID: res.RunID,
		AskSecret: func(name string) (string, error) { asked = append(asked, name); return "S3cr3t", nil }})
	if err != nil {
		t.Fatal(err)
	}
	if res2, err := r.Continue(context.Background()); err != nil || res2.Status != journal.RunStatusSucceeded {
		t.Fatalf("resumed: %v", err)
	}
	if len(asked) != 1 || asked[0] != "token" {
		t.Fatalf("asked for %v", asked)
	}
	log, _ := journal.ReadFile(res.Journal)
	for _, rec := range log.Records {
		if b, _ := json.Marshal(rec); strings.Contains(string(b), "S3cr3t") {
			t.Fatalf("the secret is in the journal: %s", b)
		}
	}
}
