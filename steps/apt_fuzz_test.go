package steps

import (
	"strings"
	"testing"
)

// FuzzAptOutput feeds the readers of apt's and dpkg's output whatever a
// host might print: none may panic, and what they read keeps its shape.
func FuzzAptOutput(f *testing.F) {
	for _, seed := range []string{
		"rbdemo|install ok installed|1.0-1\nkubelet|hold ok installed|1.29.9\n",
		"Configuration file '/etc/rbdemo/rbdemo.conf'\n ==> Keeping old config file as default.\nInstalling new version of config file /etc/x ...\n",
		"Inst rbdemo [1.0-1] (2.0-1 localhost [all])\nRemv rbprompt [1.0-1]\nInst new (1 x)\nInst odd []\n",
		"rbdemo:\n  Installed: 1.0-1\n  Candidate: 2.1-1\n",
		"Setting up rbbroken (1.0-1) ...\nrbbroken: no\ndpkg: error processing package rbbroken (--configure):\n failed\nE: x\n",
		"now=1\nstamp=2\n", "|||\n", "Configuration file ''\n", "dpkg: error processing",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, out string) {
		for name, st := range parsePkgStates(out) {
			if name == "" || (!st.Installed && st.Version != "") {
				t.Errorf("package %q read as %+v", name, st)
			}
		}
		for path, what := range parseConffiles(out) {
			if what != "kept" && what != "replaced" || path == "" {
				t.Errorf("conffile %q read as %q", path, what)
			}
		}
		for name := range simulated(out) {
			if name == "" || strings.Contains(name, ":") {
				t.Errorf("simulated package %q", name)
			}
		}
		parseCandidates(out)
		parseCacheAge(out)
		if err := aptError(100, out, out); err == nil || !strings.HasPrefix(err.Error(), "apt: exit 100") {
			t.Errorf("aptError: %v", err)
		}
	})
}
