package engine

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/transport"
)

// TestJudge is the table of a step's status rules: what the kind reported,
// then failed_when, changed_when, until and retries.
func TestJudge(t *testing.T) {
	// eval answers each rule from a fixed table: "rule@status" -> value.
	type rules map[string]any
	unreachable := transport.Unreachable("h", errors.New("connection reset"))
	for _, tc := range []struct {
		name    string
		step    runbook.Step
		a       attempt
		answers rules
		want    verdict
		wantErr string
	}{
		{"ok stays ok", runbook.Step{}, attempt{status: "", n: 1, of: 1}, nil, verdict{status: statusOK}, ""},
		{"changed stays changed", runbook.Step{}, attempt{status: statusChanged, n: 1, of: 1}, nil, verdict{status: statusChanged}, ""},
		{"failure retries", runbook.Step{Retries: 2}, attempt{status: statusFailed, n: 1, of: 3}, nil, verdict{status: statusFailed, retry: true}, ""},
		{"last failure is final", runbook.Step{Retries: 2}, attempt{status: statusFailed, n: 3, of: 3}, nil, verdict{status: statusFailed}, ""},
		{"unreachable from the error", runbook.Step{}, attempt{status: statusFailed, err: unreachable, n: 1, of: 1}, nil, verdict{status: statusUnreachable}, "connection reset"},
		{"timeout fails", runbook.Step{}, attempt{status: statusChanged, timedOut: true, timeout: 3e9, n: 1, of: 1}, nil, verdict{status: statusFailed}, "timed out after 3s"},
		{"failed_when true fails ok", runbook.Step{FailedWhen: "f"}, attempt{status: statusOK, n: 1, of: 1}, rules{"f@ok": true}, verdict{status: statusFailed}, "failed_when is true"},
		{"failed_when false passes a failure as changed", runbook.Step{FailedWhen: "f"}, attempt{status: statusFailed, n: 1, of: 1}, rules{"f@failed": false}, verdict{status: statusChanged}, ""},
		{"failed_when error fails", runbook.Step{FailedWhen: "f"}, attempt{status: statusOK, n: 1, of: 1}, rules{"f@ok": errors.New("boom")}, verdict{status: statusFailed}, "failed_when: boom"},
		{"failed_when not on skipped", runbook.Step{FailedWhen: "f"}, attempt{status: statusSkipped, n: 1, of: 1}, rules{}, verdict{status: statusSkipped}, ""},
		{"changed_when false makes ok", runbook.Step{ChangedWhen: "c"}, attempt{status: statusChanged, n: 1, of: 1}, rules{"c@changed": false}, verdict{status: statusOK}, ""},
		{"changed_when true makes changed", runbook.Step{ChangedWhen: "c"}, attempt{status: statusOK, n: 1, of: 1}, rules{"c@ok": true}, verdict{status: statusChanged}, ""},
		{"changed_when not on failure", runbook.Step{ChangedWhen: "c"}, attempt{status: statusFailed, n: 1, of: 1}, rules{}, verdict{status: statusFailed}, ""},
		{"until false retries", runbook.Step{Until: "u"}, attempt{status: statusChanged, n: 1, of: 4}, rules{"u@changed": false}, verdict{status: statusChanged, retry: true}, ""},
		{"until false at the end fails", runbook.Step{Until: "u"}, attempt{status: statusChanged, n: 4, of: 4}, rules{"u@changed": false}, verdict{status: statusFailed}, "until \"u\" was still false after 4 attempts"},
		{"until true passes a failure", runbook.Step{Until: "u"}, attempt{status: statusFailed, n: 2, of: 4}, rules{"u@failed": true}, verdict{status: statusOK}, ""},
		{"until true keeps failed_when's failure", runbook.Step{Until: "u", FailedWhen: "f"}, attempt{status: statusOK, n: 1, of: 4}, rules{"f@ok": true, "u@failed": true}, verdict{status: statusFailed}, "failed_when is true"},
		{"until not on skipped", runbook.Step{Until: "u"}, attempt{status: statusSkipped, n: 1, of: 4}, rules{}, verdict{status: statusSkipped}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := judge(&tc.step, tc.a, func(src, status string) (bool, error) {
				v, ok := tc.answers[src+"@"+status]
				if !ok {
					return false, fmt.Errorf("rule %s evaluated at %s, which the table does not expect", src, status)
				}
				if err, isErr := v.(error); isErr {
					return false, err
				}
				return v.(bool), nil
			})
			if got.status != tc.want.status || got.retry != tc.want.retry {
				t.Errorf("got %s retry %v (%v), want %s retry %v", got.status, got.retry, got.err, tc.want.status, tc.want.retry)
			}
			switch {
			case tc.wantErr == "" && got.err != nil:
				t.Errorf("error %v, want none", got.err)
			case tc.wantErr != "" && (got.err == nil || !strings.Contains(got.err.Error(), tc.wantErr)):
				t.Errorf("error %v, want %q", got.err, tc.wantErr)
			}
		})
	}
}

func TestAttemptsOf(t *testing.T) {
	for _, tc := range []struct {
		st   runbook.Step
		want int
	}{{runbook.Step{}, 1}, {runbook.Step{Retries: 3}, 4}, {runbook.Step{Until: "x"}, 4}, {runbook.Step{Until: "x", Retries: 9}, 10}} {
		if got := attemptsOf(&tc.st); got != tc.want {
			t.Errorf("%+v: %d, want %d", tc.st, got, tc.want)
		}
	}
}
