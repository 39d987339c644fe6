package inventory

import "testing"

func TestExpandHostPattern(t *testing.T) {
	tests := []struct {
		pattern string
		names   []string
		port    int
		err     string
	}{
		{"web1", []string{"web1"}, 0, ""},
		{"web1:2222", []string{"web1"}, 2222, ""},
		{"worker-[1:3]", []string{"worker-1", "worker-2", "worker-3"}, 0, ""},
		{"node[08:11]", []string{"node08", "node09", "node10", "node11"}, 0, ""},
		{"n[:2]", []string{"n0", "n1", "n2"}, 0, ""},
		{"n[0:10:5]", []string{"n0", "n5", "n10"}, 0, ""},
		{"db-[a:c]", []string{"db-a", "db-b", "db-c"}, 0, ""},
		{"x[y:B]", []string{"xy", "xz", "xA", "xB"}, 0, ""},
		{"r[1:2]-n[a:b].example.com:22", []string{"r1-na.example.com", "r1-nb.example.com", "r2-na.example.com", "r2-nb.example.com"}, 22, ""},
		{"10.0.0.[1:2]", []string{"10.0.0.1", "10.0.0.2"}, 0, ""},
		{"[2001:db8::1]:22", []string{"2001:db8::1"}, 22, ""},
		{"[2001:db8::1]", []string{"2001:db8::1"}, 0, ""},
		{"2001:db8::1", []string{"2001:db8::1"}, 0, ""},
		{"[2001:db8::1]x", nil, 0, `invalid host "[2001:db8::1]x": unexpected "x" after the address`},
		{"web1:0", nil, 0, `invalid port "0" in host "web1:0" (expected 1 to 65535)`},
		{"web1:", nil, 0, `invalid port "" in host "web1:" (expected 1 to 65535)`},
		{"a[1:2][1:2][0:99999]", nil, 0, `host range "a[1:2][1:2][0:99999]" expands to more than 100000 hosts`},
		{"a[1:2:3:4]", nil, 0, `invalid host range [1:2:3:4] in "a[1:2:3:4]": expected [start:end] or [start:end:step]`},
		{"a[b:a]", nil, 0, `invalid host range [b:a] in "a[b:a]": the start comes after the end`},
		{"a[1234567890:1234567891]", nil, 0, `invalid host range [1234567890:1234567891] in "a[1234567890:1234567891]": start and end must both be numbers, or both single letters`},
		{"web 1", nil, 0, `invalid host name "web 1": no spaces, control characters or commas`},
		{"a,b", nil, 0, `invalid host name "a,b": no spaces, control characters or commas`},
		{"", nil, 0, `empty host name`},
	}
	for _, tt := range tests {
		names, port, err := expandHostPattern(tt.pattern)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("expandHostPattern(%q) error = %v, want %q", tt.pattern, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("expandHostPattern(%q): %v", tt.pattern, err)
			continue
		}
		checkEqual(t, "names of "+tt.pattern, names, tt.names)
		checkEqual(t, "port of "+tt.pattern, port, tt.port)
	}
}
