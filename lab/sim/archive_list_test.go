package sim

import (
	"slices"
	"testing"
)

// The archive's list has the versions the examples install and roll back
// to, in the repositories their nodes' sources name.
func TestArchiveList(t *testing.T) {
	want := map[string][]string{
		"https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.29/deb / cri-o":                    {"1.29.7-1.1", "1.29.9-1.1"},
		"https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.30/deb / cri-o":                    {"1.30.3-1.1", "1.30.4-1.1", "1.30.5-1.1"},
		"http://security.ubuntu.com/ubuntu jammy-security linux-image-5.15.0-122-generic": {"5.15.0-122.132"},
	}
	got := map[string][]string{}
	for _, p := range Archive() {
		got[p.Repository+" "+p.Name] = p.Versions
		if _, ok := archivePackage(p.Name, p.Versions[0]); !ok {
			t.Errorf("%s %s is listed but not in the archive", p.Name, p.Versions[0])
		}
	}
	for k, v := range want {
		if !slices.Equal(got[k], v) {
			t.Errorf("%s: %v, want %v", k, got[k], v)
		}
	}
}
