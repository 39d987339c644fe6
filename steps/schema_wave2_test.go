package steps

import (
	"encoding/json"
	"testing"

	"github.com/runbookhq/runbook/runbook"
)

// TestSchemaHasSecondWave checks that `runbook schema` describes the
// second wave of kinds with their fields.
func TestSchemaHasSecondWave(t *testing.T) {
	b, err := runbook.Schema()
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	props := s["$defs"].(map[string]any)["step"].(map[string]any)["properties"].(map[string]any)
	for kind, fields := range map[string][]string{
		"file":           {"path", "state", "src", "mode", "owner", "group", "recurse", "force"},
		"lineinfile":     {"path", "line", "regexp", "state", "insertafter", "insertbefore", "create"},
		"ini":            {"path", "section", "option", "value", "state", "no_extra_spaces", "create"},
		"toml":           {"path", "set", "unset", "create"},
		"stat":           {"path", "follow", "checksum"},
		"uri":            {"url", "method", "headers", "body", "body_format", "status", "timeout", "validate_certs", "follow_redirects"},
		"kube_node":      {"node", "action", "timeout", "ignore_daemonsets", "delete_emptydir_data", "force", "grace_period", "pod_selector", "leave_cordoned", "kubeconfig"},
		"notify_webhook": {"url", "text", "body", "headers", "timeout", "required"},
	} {
		k, _ := props[kind].(map[string]any)
		if k == nil {
			t.Errorf("schema lacks %s", kind)
			continue
		}
		if alts, ok := k["oneOf"].([]any); ok { // scalar shorthand or mapping
			k = alts[len(alts)-1].(map[string]any)
		}
		fp, _ := k["properties"].(map[string]any)
		for _, f := range fields {
			if fp[f] == nil {
				t.Errorf("schema of %s lacks %s", kind, f)
			}
		}
	}
	action := props["kube_node"].(map[string]any)["properties"].(map[string]any)["action"].(map[string]any)
	if len(action["enum"].([]any)) != 4 {
		t.Errorf("kube_node action enum: %v", action)
	}
}
