package inventory

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Seeds besides the committed corpus in testdata/fuzz/: the shipped
// inventories and the fixtures of the other tests run at every `go test`.

var yamlSeeds = []string{
	"all:\n  hosts:\n    a:\n",
	"all:\n  vars: {transport: rehearsal}\n  children:\n    w:\n      hosts:\n        w-[1:3]: {port: 22}\n",
	"a: &a\n  children:\n    b: *a\n",
	"all:\n  vars: &v {x: 1}\n  hosts:\n    h: {<<: *v, y: 2}\n",
	"all:\n  hosts: [a, b]\n",
	"x: {children: {y: {children: {x: }}}}\n",
	"all:\n  hosts:\n    \"[::1]:22\":\n    a:b:\n",
	"- 1\n",
	"",
}

var iniSeeds = []string{
	"h1 ansible_host=192.0.2.1 ansible_port=22\n[g]\nh[1:3] k=\"v w\"\n[g:vars]\nx=1\n[p:children]\ng\n",
	"[a:children]\nb\n[b:children]\na\n",
	"[g:vars]\nk='unterminated\n",
	"[::1]:22\n[g]\nweb1:2222 x={'a': [1, 2]}\n",
	"[ghost:vars]\nx=1\n[g:bad]\n[broken\n",
	"\ufeff; comment\r\n# comment\r\nh\r\n",
}

func addSeeds(f *testing.F, seeds []string, exts ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	for _, ext := range exts {
		files, _ := filepath.Glob(filepath.Join("..", "..", "inventories", "*"+ext))
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
}

// smallLimits lowers the size limits while fuzzing: inputs of a hundred
// thousand hosts only slow the search down (the limits themselves are
// tested in TestParseErrors and TestExpandHostPattern).
func smallLimits(f *testing.F) {
	r, h, g, v := maxRangeHosts, maxHosts, maxGroups, maxResolved
	maxRangeHosts, maxHosts, maxGroups, maxResolved = 1000, 2000, 500, 100000
	f.Cleanup(func() { maxRangeHosts, maxHosts, maxGroups, maxResolved = r, h, g, v })
}

func FuzzParseYAML(f *testing.F) {
	smallLimits(f)
	addSeeds(f, yamlSeeds, ".yaml")
	f.Add([]byte(dedent(patternFixture)))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := withRehearsal.Parse("fuzz.yaml", data)
		checkParsed(t, "fuzz.yaml", inv, err)
	})
}

func FuzzParseINI(f *testing.F) {
	smallLimits(f)
	addSeeds(f, iniSeeds, ".ini")
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := withRehearsal.Parse("fuzz.ini", data)
		checkParsed(t, "fuzz.ini", inv, err)
	})
}

// checkParsed checks what must hold of any result of Parse.
func checkParsed(t *testing.T, file string, inv *Inventory, err error) {
	t.Helper()
	if (inv == nil) == (err == nil) {
		t.Fatalf("Parse returned inventory %v and error %v", inv != nil, err)
	}
	if err != nil {
		for _, line := range errLines(err) {
			if !strings.HasPrefix(line, file+":") {
				t.Fatalf("error without its file: %q", line)
			}
		}
		return
	}
	if inv.GroupOrder[0] != "all" || inv.GroupOrder[1] != "ungrouped" || len(inv.Groups) != len(inv.GroupOrder) {
		t.Fatalf("groups: %v", inv.GroupOrder)
	}
	seen := map[string]bool{}
	for _, h := range inv.Hosts {
		if h.Name == "" || seen[h.Name] {
			t.Fatalf("empty or duplicate host name %q", h.Name)
		}
		seen[h.Name] = true
		if len(h.Groups) < 2 || h.Groups[0] != "all" || h.Address == "" {
			t.Fatalf("host %q: groups %v, address %q", h.Name, h.Groups, h.Address)
		}
		if _, ok := transports[h.Transport]; !ok && h.Transport != "rehearsal" || h.Port < 0 || h.Port > 65535 {
			t.Fatalf("host %q: transport %q, port %d", h.Name, h.Transport, h.Port)
		}
		for _, g := range h.Groups {
			if inv.Groups[g] == nil {
				t.Fatalf("host %q in undefined group %q", h.Name, g)
			}
		}
	}
	all, err := inv.Select("all")
	if err != nil || len(all) != len(inv.Hosts) {
		t.Fatalf("Select(all) = %d hosts, %v; want %d", len(all), err, len(inv.Hosts))
	}
	for _, g := range inv.GroupOrder {
		if _, err := inv.Select(g); err != nil {
			t.Fatalf("Select(%q): %v", g, err)
		}
	}
}

func FuzzSelect(f *testing.F) {
	for _, p := range []string{
		"all", "workers:&web", "kube_nodes:!control_plane", "worker-[1:3]", "workers[1:]", "~w.*", "web?,cp-1",
		"workers[-1]", "&web:!worker-2", "2001:db8::1", "[x", "~(", "wo*rk[!e]r*", "a:b,c:&d:!e", ":::,,,",
	} {
		f.Add(p)
	}
	smallLimits(f)
	inv, err := Parse("inv.yaml", []byte(dedent(patternFixture)))
	if err != nil {
		f.Fatal(err)
	}
	index := map[*Host]int{}
	for i, h := range inv.Hosts {
		index[h] = i
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		hosts, err := inv.Select(pattern)
		if err != nil {
			if hosts != nil {
				t.Fatalf("hosts returned with an error")
			}
			return
		}
		last := -1
		for _, h := range hosts {
			i, ok := index[h]
			if !ok || i <= last {
				t.Fatalf("Select(%q) = %v: not in inventory order, or not of the inventory", pattern, names(hosts))
			}
			last = i
		}
		limited, err := inv.Limit(inv.Hosts, pattern)
		if err != nil || !slices.Equal(limited, hosts) {
			t.Fatalf("Limit(all hosts, %q) = %v, %v; Select gave %v", pattern, names(limited), err, names(hosts))
		}
	})
}
