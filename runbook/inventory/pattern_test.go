package inventory

import (
	"testing"
)

const patternFixture = `
	all:
	  hosts:
	    bastion:
	  children:
	    kube_nodes:
	      children:
	        control_plane:
	          hosts:
	            cp-1:
	        workers:
	          hosts:
	            worker-1:
	            worker-2:
	            worker-3:
	            worker-10:
	    web:
	      hosts:
	        web1:
	        web2:
	        worker-2:
	    empty:
	    v6:
	      hosts:
	        "[2001:db8::1]":
`

func TestSelect(t *testing.T) {
	inv := mustParse(t, "inv.yaml", patternFixture)
	tests := []struct {
		pattern string
		want    []string
	}{
		{"all", []string{"bastion", "cp-1", "worker-1", "worker-2", "worker-3", "worker-10", "web1", "web2", "2001:db8::1"}},
		{"*", []string{"bastion", "cp-1", "worker-1", "worker-2", "worker-3", "worker-10", "web1", "web2", "2001:db8::1"}},
		{"workers", []string{"worker-1", "worker-2", "worker-3", "worker-10"}},
		{"kube_nodes", []string{"cp-1", "worker-1", "worker-2", "worker-3", "worker-10"}},
		{"ungrouped", []string{"bastion"}},
		{"worker-3", []string{"worker-3"}},
		{"empty", []string{}},
		// Union, by : or , and in inventory order whatever the pattern's.
		{"web:control_plane", []string{"cp-1", "worker-2", "web1", "web2"}},
		{"web2,bastion", []string{"bastion", "web2"}},
		{"web, workers", []string{"worker-1", "worker-2", "worker-3", "worker-10", "web1", "web2"}},
		// Intersection and exclusion, applied after the union whatever
		// their place in the pattern.
		{"workers:&web", []string{"worker-2"}},
		{"&web:workers", []string{"worker-2"}},
		{"workers:!worker-2", []string{"worker-1", "worker-3", "worker-10"}},
		{"!worker-2:workers", []string{"worker-1", "worker-3", "worker-10"}},
		{"kube_nodes:!control_plane:!worker-1", []string{"worker-2", "worker-3", "worker-10"}},
		{"all:!kube_nodes:&web", []string{"web1", "web2"}},
		{"!kube_nodes", []string{"bastion", "web1", "web2", "2001:db8::1"}},
		{"&web", []string{"worker-2", "web1", "web2"}},
		{"workers:!workers", []string{}},
		// Globs, over host and group names.
		{"worker-*", []string{"worker-1", "worker-2", "worker-3", "worker-10"}},
		{"worker-?", []string{"worker-1", "worker-2", "worker-3"}},
		{"web?", []string{"web1", "web2"}},
		{"web*", []string{"worker-2", "web1", "web2"}}, // the group web too
		{"worker-[12]", []string{"worker-1", "worker-2"}},
		{"worker-[!12]", []string{"worker-3"}},
		{"*_plane", []string{"cp-1"}},
		{"empty[0:]", []string{}},
		{"all:!worker-1?", []string{"bastion", "cp-1", "worker-1", "worker-2", "worker-3", "web1", "web2", "2001:db8::1"}},
		// Host ranges.
		{"worker-[1:3]", []string{"worker-1", "worker-2", "worker-3"}},
		{"worker-[2:20]", []string{"worker-2", "worker-3", "worker-10"}},
		{"web[1:2]:worker-[1:1]", []string{"worker-1", "web1", "web2"}},
		// Subscripts of a selection (inclusive, as in Ansible).
		{"workers[0]", []string{"worker-1"}},
		{"workers[-1]", []string{"worker-10"}},
		{"workers[1:2]", []string{"worker-2", "worker-3"}},
		{"workers[2:]", []string{"worker-3", "worker-10"}},
		{"workers[1:99]", []string{"worker-2", "worker-3", "worker-10"}},
		{"workers[0]:web[0]", []string{"worker-1", "worker-2"}},
		// Regular expressions, anchored at the start.
		{"~worker-[0-9]+$", []string{"worker-1", "worker-2", "worker-3", "worker-10"}},
		{"~(cp|web)", []string{"cp-1", "worker-2", "web1", "web2"}},
		// IPv6 host names.
		{"2001:db8::1", []string{"2001:db8::1"}},
		{"bastion,2001:db8::1", []string{"bastion", "2001:db8::1"}},
	}
	for _, tt := range tests {
		got, err := inv.Select(tt.pattern)
		if err != nil {
			t.Errorf("Select(%q): %v", tt.pattern, err)
			continue
		}
		checkEqual(t, "Select("+tt.pattern+")", names(got), tt.want)
	}
}

func TestSelectErrors(t *testing.T) {
	inv := mustParse(t, "inv.yaml", patternFixture)
	tests := []struct {
		pattern string
		want    []string
	}{
		{"workres", []string{`host pattern "workres": no host or group matches "workres" (did you mean "workers"?)`}},
		{"workers:!worker-9", []string{`host pattern "workers:!worker-9": no host or group matches "worker-9" (did you mean "worker-1"?)`}},
		{"wrkers:&wbe", []string{
			`host pattern "wrkers:&wbe": no host or group matches "wrkers" (did you mean "workers"?)`,
			`host pattern "wrkers:&wbe": no host or group matches "wbe" (did you mean "web"?)`,
		}},
		{"db-*", []string{`host pattern "db-*": no host or group matches "db-*"`}},
		{"db-[1:3]", []string{`host pattern "db-[1:3]": no host or group matches "db-[1:3]"`}},
		{"workers[7]", []string{`host pattern "workers[7]": "workers[7]" is out of range (4 hosts)`}},
		{"workers[-5]", []string{`host pattern "workers[-5]": "workers[-5]" is out of range (4 hosts)`}},
		{"a*", []string{`host pattern "a*": no host or group matches "a*"`}}, // not all hosts through the group all
		{"~.*group", []string{`host pattern "~.*group": no host or group matches "~.*group"`}},
		{"empty[0]", []string{`host pattern "empty[0]": "empty[0]" is out of range (0 hosts)`}},
		{"~(", []string{"host pattern \"~(\": invalid regular expression \"(\": error parsing regexp: missing closing ): `^(?:()`"}},
		{"~nothing", []string{`host pattern "~nothing": no host or group matches "~nothing"`}},
		{"", []string{`empty host pattern ""`}},
		{" , : ", []string{`empty host pattern " , : "`}},
		{"web:!", []string{`host pattern "web:!": empty term`}},
	}
	for _, tt := range tests {
		got, err := inv.Select(tt.pattern)
		if err == nil {
			t.Errorf("Select(%q) = %v, want an error", tt.pattern, names(got))
			continue
		}
		checkEqual(t, "Select("+tt.pattern+") errors", errLines(err), tt.want)
	}
}

func TestLimit(t *testing.T) {
	inv := mustParse(t, "inv.yaml", patternFixture)
	targets, err := inv.Select("kube_nodes")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		limit string
		want  []string
		err   string
	}{
		{"worker-2,worker-3", []string{"worker-2", "worker-3"}, ""},
		{"all:!control_plane", []string{"worker-1", "worker-2", "worker-3", "worker-10"}, ""},
		{"web", []string{"worker-2"}, ""},
		{"web1", []string{}, ""}, // exists, but is not a target
		{"worker-[1:2]", []string{"worker-1", "worker-2"}, ""},
		{"workre-1", nil, `host pattern "workre-1": no host or group matches "workre-1" (did you mean "worker-1"?)`},
	}
	for _, tt := range tests {
		got, err := inv.Limit(targets, tt.limit)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("Limit(%q) error = %v, want %q", tt.limit, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Limit(%q): %v", tt.limit, err)
			continue
		}
		checkEqual(t, "Limit("+tt.limit+")", names(got), tt.want)
	}

	// Limit keeps the order of the selection it narrows, and each host once.
	reversed := []*Host{inv.Host("worker-3"), inv.Host("worker-1"), inv.Host("worker-3")}
	got, err := inv.Limit(reversed, "workers")
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "Limit of a reordered selection", names(got), []string{"worker-3", "worker-1"})
}

func TestGlobRegexp(t *testing.T) {
	tests := []struct {
		glob  string
		match []string
		miss  []string
	}{
		{"a*", []string{"a", "abc"}, []string{"ba"}},
		{"a?c", []string{"abc", "a.c"}, []string{"ac", "abbc"}},
		{"[ab]x", []string{"ax", "bx"}, []string{"cx"}},
		{"[!ab]x", []string{"cx"}, []string{"ax"}},
		{"[a-c]", []string{"b"}, []string{"d"}},
		{"[]]", []string{"]"}, []string{"a"}},
		{"[^]", []string{"^"}, []string{"a"}},
		{"x[", []string{"x["}, []string{"x"}},
		{"a.b+(c)", []string{"a.b+(c)"}, []string{"axb+(c)"}},
		{"wörk*", []string{"wörker"}, []string{"worker"}},
	}
	for _, tt := range tests {
		re, err := globRegexp(tt.glob)
		if err != nil {
			t.Errorf("globRegexp(%q): %v", tt.glob, err)
			continue
		}
		for _, s := range tt.match {
			if !re.MatchString(s) {
				t.Errorf("%q does not match %q", tt.glob, s)
			}
		}
		for _, s := range tt.miss {
			if re.MatchString(s) {
				t.Errorf("%q matches %q", tt.glob, s)
			}
		}
	}
}
