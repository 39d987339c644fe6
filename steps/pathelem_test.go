package steps

import "testing"

// TestPathElemIsInjective: two host names never share a backup directory,
// whatever characters they hold.
func TestPathElemIsInjective(t *testing.T) {
	names := []string{"a/b", "a_b", "a b", "a%2fb", "", ".", "..", "_", "%", "worker-1", "w.1", "é", "a\x00b", "%612f62"}
	seen := map[string]string{}
	for _, n := range names {
		e := pathElem(n)
		if prev, dup := seen[e]; dup {
			t.Errorf("%q and %q both give %q", prev, n, e)
		}
		seen[e] = n
		for _, c := range e {
			if c == '/' || c == 0 {
				t.Errorf("%q gives %q, not one path element", n, e)
			}
		}
		if e == "." || e == ".." || e == "" {
			t.Errorf("%q gives %q", n, e)
		}
	}
	if got := pathElem("worker-1"); got != "worker-1" {
		t.Errorf("a plain name changed: %q", got)
	}
}
