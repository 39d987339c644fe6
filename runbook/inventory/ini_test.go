package inventory

import (
	"testing"
)

func TestParseINI(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		want   []hostWant
		groups []string
	}{{
		name: "sections, children, vars and ungrouped hosts",
		src: `
			# a comment
			; another comment
			bastion ansible_host=192.0.2.254

			[kube_nodes:children]
			control_plane
			workers   # trailing comment

			[control_plane]
			cp-1

			[workers]
			worker-[1:2] rack=r1

			[workers:vars]
			drain_timeout=10m

			[all:vars]
			transport=rehearsal
		`,
		want: []hostWant{
			{name: "bastion", address: "192.0.2.254", transport: "rehearsal", groups: []string{"all", "ungrouped"},
				vars: map[string]any{"address": "192.0.2.254", "transport": "rehearsal"}},
			{name: "cp-1", transport: "rehearsal", groups: []string{"all", "kube_nodes", "control_plane"},
				vars: map[string]any{"transport": "rehearsal"}},
			{name: "worker-1", transport: "rehearsal", groups: []string{"all", "kube_nodes", "workers"},
				vars: map[string]any{"transport": "rehearsal", "rack": "r1", "drain_timeout": "10m"}},
			{name: "worker-2", transport: "rehearsal", groups: []string{"all", "kube_nodes", "workers"},
				vars: map[string]any{"transport": "rehearsal", "rack": "r1", "drain_timeout": "10m"}},
		},
		groups: []string{"all", "ungrouped", "kube_nodes", "control_plane", "workers"},
	}, {
		name: "typed values, quoting and aliases",
		src: `
			[web]
			web1 ansible_port=2222 ansible_user=deploy count=3 ratio=0.5 on=true off=False none=None padded=007 neg=-4
			web2 version="1.30" msg='hello world' esc="a \"b\" c" tpl="{{ host.name }}" list=[1,2] map="{'a': True, 'b': [x, y]}"

			[web:vars]
			ansible_ssh_private_key_file = ~/.ssh/id web
			proxy_jump="jump@192.0.2.254"   # the bastion
			ssh_args=-o ProxyCommand="ssh -W %h:%p bastion"
			minor=1.30
			empty=
		`,
		want: []hostWant{{
			name: "web1", port: 2222, user: "deploy", identity: "~/.ssh/id web", jump: "jump@192.0.2.254",
			groups: []string{"all", "web"},
			vars: map[string]any{"port": 2222, "user": "deploy", "count": 3, "ratio": 0.5, "on": true, "off": false, "none": nil,
				"padded": "007", "neg": -4, "identity_file": "~/.ssh/id web", "proxy_jump": "jump@192.0.2.254",
				"ssh_args": `-o ProxyCommand="ssh -W %h:%p bastion"`, "minor": 1.3, "empty": ""},
		}, {
			name: "web2", identity: "~/.ssh/id web", jump: "jump@192.0.2.254",
			groups: []string{"all", "web"},
			vars: map[string]any{"version": "1.30", "msg": "hello world", "esc": `a "b" c`, "tpl": "{{ host.name }}",
				"list": []any{1, 2}, "map": map[string]any{"a": true, "b": []any{"x", "y"}},
				"identity_file": "~/.ssh/id web", "proxy_jump": "jump@192.0.2.254",
				"ssh_args": `-o ProxyCommand="ssh -W %h:%p bastion"`, "minor": 1.3, "empty": ""},
		}},
		groups: []string{"all", "ungrouped", "web"},
	}, {
		name: "ports, IPv6 and a host on several lines",
		src: `
			[db]
			db1:2200
			[2001:db8::1]:2201
			2001:db8::2
			db1 role=primary
			[dbs:children]
			db
			[dbs:vars]
			role=replica
		`,
		want: []hostWant{
			{name: "db1", port: 2200, groups: []string{"all", "db", "dbs"}, vars: map[string]any{"port": 2200, "role": "primary"}},
			{name: "2001:db8::1", port: 2201, groups: []string{"all", "db", "dbs"}, vars: map[string]any{"port": 2201, "role": "replica"}},
			{name: "2001:db8::2", groups: []string{"all", "db", "dbs"}, vars: map[string]any{"role": "replica"}},
		},
		groups: []string{"all", "ungrouped", "db", "dbs"},
	}, {
		name:   "vars before the group is defined, CRLF line ends, BOM",
		src:    "\ufeff[g:vars]\r\nx=1\r\n[g]\r\nh1\r\n",
		want:   []hostWant{{name: "h1", groups: []string{"all", "g"}, vars: map[string]any{"x": 1}}},
		groups: []string{"all", "ungrouped", "g"},
	}, {
		name: "a host before any section is ungrouped only until a group lists it",
		src:  "h1\nh2\n[g]\nh1\n",
		want: []hostWant{
			{name: "h1", groups: []string{"all", "g"}},
			{name: "h2", groups: []string{"all", "ungrouped"}},
		},
		groups: []string{"all", "ungrouped", "g"},
	}, {
		name:   "empty file",
		src:    "\n# only comments\n",
		groups: []string{"all", "ungrouped"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := mustParse(t, "hosts.ini", tt.src)
			checkHosts(t, inv, tt.want)
			checkEqual(t, "group order", inv.GroupOrder, tt.groups)
		})
	}
}

func TestFormatDetection(t *testing.T) {
	tests := []struct {
		name, src string
		yaml      bool
	}{
		{"inv.yml", "[web]\n", true},
		{"inv.ini", "all:\n", false},
		{"hosts", "# c\n---\nall:\n  hosts: {a: }\n", true},
		{"hosts", `"web": {hosts: {a: }}`, true},
		{"hosts", "{\"all\": {}}", true},
		{"hosts", "[web]\na\n", false},
		{"hosts", "web1:2222 ansible_user=x\n", false},
		{"hosts", "web1\n", false},
		{"hosts", "", false},
	}
	for _, tt := range tests {
		if got := isYAML(tt.name, []byte(tt.src)); got != tt.yaml {
			t.Errorf("isYAML(%q, %q) = %v, want %v", tt.name, tt.src, got, tt.yaml)
		}
	}
}

func TestTokenize(t *testing.T) {
	tests := []struct {
		line   string
		want   []iniToken
		err    string
		errCol int
	}{
		{`a b=1`, []iniToken{{"a", 1, false, 1}, {"b=1", 3, false, 5}}, "", 0},
		{`  x="q r" # c`, []iniToken{{"x=q r", 3, true, 9}}, "", 0},
		{`a\ b 'c"d' "e\\f\g"`, []iniToken{{"a b", 1, false, 4}, {`c"d`, 6, true, 10}, {`e\f\g`, 12, true, 19}}, "", 0},
		{`k=v#not-a-comment`, []iniToken{{"k=v#not-a-comment", 1, false, 17}}, "", 0},
		{`héllo wörld`, []iniToken{{"héllo", 1, false, 6}, {"wörld", 7, false, 13}}, "", 0},
		{`a "open`, nil, "unterminated \" quote", 3},
	}
	for _, tt := range tests {
		got, err := tokenize(tt.line, 1)
		if tt.err != "" {
			te, ok := err.(*tokenError)
			if !ok || te.Error() != tt.err || te.col != tt.errCol {
				t.Errorf("tokenize(%q) error = %#v, want %q at column %d", tt.line, err, tt.err, tt.errCol)
			}
			continue
		}
		if err != nil {
			t.Errorf("tokenize(%q): %v", tt.line, err)
			continue
		}
		checkEqual(t, "tokenize "+tt.line, got, tt.want)
	}
}

func TestINIValue(t *testing.T) {
	tests := []struct {
		s      string
		quoted bool
		want   any
	}{
		{"22", false, 22},
		{"22", true, "22"},
		{"-3", false, -3},
		{"007", false, "007"},
		{"99999999999999999999", false, "99999999999999999999"},
		{"1.30", false, 1.3},
		{"1e3", false, 1000.0},
		{"1.2.3", false, "1.2.3"},
		{"true", false, true},
		{"False", false, false},
		{"TRUE", false, "TRUE"},
		{"yes", false, "yes"},
		{"None", false, nil},
		{"true", true, "true"},
		{"[1, 'a']", false, []any{1, "a"}},
		{"{a: 1}", true, map[string]any{"a": 1}},
		{"{{ x }}", false, "{{ x }}"},
		{"[unclosed", false, "[unclosed"},
		{"{1: [2]}", false, map[string]any{"1": []any{2}}},
		{"[2024-01-02]", false, []any{"2024-01-02"}},
	}
	for _, tt := range tests {
		checkEqual(t, "iniValue("+tt.s+")", iniValue(tt.s, tt.quoted), tt.want)
	}
}
