package sim

import (
	"encoding/json"
	"strings"
	"testing"
)

// haFleet is a control plane of three and two workers.
func haFleet() []NodeConfig {
	return []NodeConfig{
		{Name: "cp-1", Role: RoleControlPlane},
		{Name: "cp-2", Role: RoleControlPlane},
		{Name: "cp-3", Role: RoleControlPlane},
		{Name: "worker-1", Role: RoleWorker},
		{Name: "worker-2", Role: RoleWorker},
	}
}

// TestStaticPodSandboxes: crictl shows a static pod's sandbox with
// kubelet's config source "file", any other with "api".
func TestStaticPodSandboxes(t *testing.T) {
	w := openTestWorld(t, t.TempDir(), haFleet())
	var pods struct {
		Items []struct {
			Metadata    struct{ Name string }
			Annotations map[string]string
		}
	}
	out := must(t, w, "cp-2", "crictl", "pods", "-o", "json")
	if err := json.Unmarshal([]byte(out), &pods); err != nil {
		t.Fatal(err)
	}
	static := 0
	for _, p := range pods.Items {
		want := "api"
		if strings.HasSuffix(p.Metadata.Name, "-cp-2") {
			want, static = "file", static+1
		}
		if got := p.Annotations["kubernetes.io/config.source"]; got != want {
			t.Errorf("%s: config.source %q, want %q", p.Metadata.Name, got, want)
		}
	}
	if static != 4 || len(pods.Items) <= static {
		t.Errorf("%d sandboxes, %d of static pods", len(pods.Items), static)
	}
}
