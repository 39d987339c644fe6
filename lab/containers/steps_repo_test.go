package containers

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/steps"
)

// TestAptRepositoryOnDebian adds a second repository with its key fetched
// over loopback HTTP, changes its line, and takes it away again as a
// rollback does, with apt reading each state.
func TestAptRepositoryOnDebian(t *testing.T) {
	key := []byte("\x99\x01\x0drunbook-lab-binary-key")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/rbnext.gpg" {
			http.NotFound(w, r)
			return
		}
		w.Write(key)
	}))
	defer srv.Close()
	h := dialStepHost(t, sharedLab(t), "apt", LoginUser, nil)
	h.sh(`rm -rf /srv/rbnext && mkdir -p /srv/rbnext && cp /srv/rbrepo/rbdemo_2.0-1_all.deb /srv/rbnext/
cd /srv/rbnext && apt-ftparchive packages . > Packages`)
	add := fmt.Sprintf(`apt_repository: {name: rbnext, line: "deb [trusted=yes] file:/srv/rbnext ./", key_url: "%s/rbnext.gpg", key_path: /etc/apt/keyrings/rbnext.gpg, update_cache: true}`, srv.URL)
	r := h.step(add, steps.Changed)
	if r.Data["previous_exists"] != false || r.Data["key_fetched"] != true {
		t.Errorf("data %v", r.Data)
	}
	if got := h.sh("cat /etc/apt/keyrings/rbnext.gpg"); got != string(key) {
		t.Errorf("key file %q", got)
	}
	if got := h.sh("apt-cache policy rbdemo"); !strings.Contains(got, "file:/srv/rbnext") {
		t.Errorf("apt does not see the new repository:\n%s", got)
	}
	h.step(add, steps.OK)

	r = h.step(`apt_repository: {name: rbnext, line: "deb [trusted=yes check-valid-until=no] file:/srv/rbnext ./", update_cache: true}`, steps.Changed)
	if r.Data["previous_content"] != "deb [trusted=yes] file:/srv/rbnext ./\n" {
		t.Errorf("previous content %q", r.Data["previous_content"])
	}
	h.step(`apt_repository: {name: rbnext, state: absent, update_cache: true}`, steps.Changed)
	h.step(`apt_repository: {name: rbnext, state: absent}`, steps.OK)
	if got := h.sh("apt-cache policy rbdemo; ls /etc/apt/sources.list.d"); strings.Contains(got, "rbnext") {
		t.Errorf("the repository is still there:\n%s", got)
	}
}
