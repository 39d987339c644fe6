package inventory

import (
	"testing"
)

// hostWant is what a test expects of one resolved host.
type hostWant struct {
	name, address string
	port          int
	user          string
	identity      string
	jump          string
	transport     string
	groups        []string
	vars          map[string]any
}

func checkHosts(t *testing.T, inv *Inventory, want []hostWant) {
	t.Helper()
	if len(inv.Hosts) != len(want) {
		t.Fatalf("hosts: got %v, want %d hosts", names(inv.Hosts), len(want))
	}
	for i, w := range want {
		h := inv.Hosts[i]
		if w.transport == "" {
			w.transport = TransportSSH
		}
		if w.address == "" {
			w.address = w.name
		}
		got := hostWant{h.Name, h.Address, h.Port, h.User, h.IdentityFile, h.ProxyJump, h.Transport, h.Groups, h.Vars}
		if w.vars == nil {
			w.vars = map[string]any{}
		}
		checkEqual(t, "host "+w.name, got, w)
		if inv.Host(w.name) != h {
			t.Errorf("Host(%q) does not return the host", w.name)
		}
	}
}

func TestParseYAML(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		want   []hostWant
		groups []string // GroupOrder
	}{{
		name: "null hosts and nested children",
		src: `
			all:
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
		`,
		want: []hostWant{
			{name: "cp-1", groups: []string{"all", "kube_nodes", "control_plane"}},
			{name: "worker-1", groups: []string{"all", "kube_nodes", "workers"}},
			{name: "worker-2", groups: []string{"all", "kube_nodes", "workers"}},
		},
		groups: []string{"all", "ungrouped", "kube_nodes", "control_plane", "workers"},
	}, {
		name: "native keys",
		src: `
			all:
			  hosts:
			    web1:
			      address: 192.0.2.1
			      port: 2222
			      user: deploy
			      identity_file: ~/.ssh/id_web
			      proxy_jump: jump@192.0.2.254
			      transport: ssh
		`,
		want: []hostWant{{
			name: "web1", address: "192.0.2.1", port: 2222, user: "deploy", identity: "~/.ssh/id_web", jump: "jump@192.0.2.254",
			groups: []string{"all", "ungrouped"},
			vars: map[string]any{"address": "192.0.2.1", "port": 2222, "user": "deploy", "identity_file": "~/.ssh/id_web",
				"proxy_jump": "jump@192.0.2.254", "transport": "ssh"},
		}},
		groups: []string{"all", "ungrouped"},
	}, {
		name: "ansible aliases become native names",
		src: `
			all:
			  hosts:
			    web1:
			      ansible_host: 192.0.2.1
			      ansible_port: "2200"
			      ansible_user: admin
			      ansible_ssh_private_key_file: /keys/web
			      ansible_connection: local
			    web2: {ansible_ssh_host: 192.0.2.2, ansible_ssh_port: 22, ansible_ssh_user: root, ansible_private_key_file: k, ansible_connection: smart}
		`,
		want: []hostWant{{
			name: "web1", address: "192.0.2.1", port: 2200, user: "admin", identity: "/keys/web", transport: "local",
			groups: []string{"all", "ungrouped"},
			vars:   map[string]any{"address": "192.0.2.1", "port": 2200, "user": "admin", "identity_file": "/keys/web", "transport": "local"},
		}, {
			name: "web2", address: "192.0.2.2", port: 22, user: "root", identity: "k", transport: "ssh",
			groups: []string{"all", "ungrouped"},
			vars:   map[string]any{"address": "192.0.2.2", "port": 22, "user": "root", "identity_file": "k", "transport": "ssh"},
		}},
		groups: []string{"all", "ungrouped"},
	}, {
		name: "top-level groups besides all, host in two groups, first appearance order",
		src: `
			web:
			  hosts:
			    b: {role: web}
			    a:
			db:
			  hosts:
			    c:
			    b: {role: db, db_only: 1}
		`,
		want: []hostWant{
			{name: "b", groups: []string{"all", "web", "db"}, vars: map[string]any{"role": "db", "db_only": 1}},
			{name: "a", groups: []string{"all", "web"}},
			{name: "c", groups: []string{"all", "db"}},
		},
		groups: []string{"all", "ungrouped", "web", "db"},
	}, {
		name: "host ranges and ports in names",
		src: `
			all:
			  children:
			    workers:
			      hosts:
			        worker-[1:3]:
			          rack: r1
			        node[08:10]:
			        db-[a:b]:2222:
			        "[2001:db8::1]:2200":
			        2001:db8::2:
		`,
		want: []hostWant{
			{name: "worker-1", groups: []string{"all", "workers"}, vars: map[string]any{"rack": "r1"}},
			{name: "worker-2", groups: []string{"all", "workers"}, vars: map[string]any{"rack": "r1"}},
			{name: "worker-3", groups: []string{"all", "workers"}, vars: map[string]any{"rack": "r1"}},
			{name: "node08", groups: []string{"all", "workers"}},
			{name: "node09", groups: []string{"all", "workers"}},
			{name: "node10", groups: []string{"all", "workers"}},
			{name: "db-a", port: 2222, groups: []string{"all", "workers"}, vars: map[string]any{"port": 2222}},
			{name: "db-b", port: 2222, groups: []string{"all", "workers"}, vars: map[string]any{"port": 2222}},
			{name: "2001:db8::1", port: 2200, groups: []string{"all", "workers"}, vars: map[string]any{"port": 2200}},
			{name: "2001:db8::2", groups: []string{"all", "workers"}},
		},
		groups: []string{"all", "ungrouped", "workers"},
	}, {
		name: "anchors, aliases and merge keys",
		src: `
			all:
			  vars:
			    common: &common {user: ops, port: 2222}
			  children:
			    a:
			      hosts:
			        h1:
			          <<: *common
			          port: 22
			          faults: &faults {crio_start_fails: true}
			        h2:
			          more_faults: *faults
			    b: &b
			      hosts:
			        h3:
			    c: *b
		`,
		want: []hostWant{
			{name: "h1", port: 22, user: "ops", groups: []string{"all", "a"},
				vars: map[string]any{"common": map[string]any{"user": "ops", "port": 2222}, "user": "ops", "port": 22,
					"faults": map[string]any{"crio_start_fails": true}}},
			{name: "h2", groups: []string{"all", "a"},
				vars: map[string]any{"common": map[string]any{"user": "ops", "port": 2222}, "more_faults": map[string]any{"crio_start_fails": true}}},
			{name: "h3", groups: []string{"all", "b", "c"},
				vars: map[string]any{"common": map[string]any{"user": "ops", "port": 2222}}},
		},
		groups: []string{"all", "ungrouped", "a", "b", "c"},
	}, {
		name:   "empty document",
		src:    "# nothing yet\n",
		groups: []string{"all", "ungrouped"},
	}, {
		name: "a child group defined nowhere else is an empty group",
		src: `
			all:
			  children:
			    later:
			  hosts:
			    solo:
		`,
		want:   []hostWant{{name: "solo", groups: []string{"all", "ungrouped"}}},
		groups: []string{"all", "ungrouped", "later"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := mustParse(t, "inv.yaml", tt.src)
			checkHosts(t, inv, tt.want)
			checkEqual(t, "group order", inv.GroupOrder, tt.groups)
		})
	}
}

func TestYAMLVarPrecedence(t *testing.T) {
	// Parent before child whatever the order of writing, groups of one
	// depth in inventory order, host vars last; a group reached by two
	// paths takes its longest depth.
	inv := mustParse(t, "inv.yaml", `
		zeta:
		  vars: {v: zeta, z: 1}
		  hosts:
		    h:
		      v: host
		alpha:
		  vars: {v: alpha, a: 1}
		  children:
		    zeta:
		    mid:
		      vars: {v: mid, m: 1}
		      children:
		        zeta:
		all:
		  vars: {v: all, x: 1}
		  hosts:
		    g:
	`)
	h := inv.Host("h")
	checkEqual(t, "groups of h", h.Groups, []string{"all", "zeta", "alpha", "mid"})
	checkEqual(t, "vars of h", h.Vars, map[string]any{"v": "host", "z": 1, "a": 1, "m": 1, "x": 1})
	checkEqual(t, "children of all", inv.Groups["all"].Children, []string{"ungrouped", "alpha"})

	// Without the host's own value, the deepest group wins: zeta is under
	// mid, which is under alpha.
	inv = mustParse(t, "inv.yaml", `
		zeta:
		  vars: {v: zeta}
		  hosts: {h: }
		alpha:
		  vars: {v: alpha}
		  children:
		    mid:
		      vars: {v: mid}
		      children: {zeta: }
	`)
	checkEqual(t, "v", inv.Host("h").Vars["v"], "zeta")

	// Siblings at one depth: the later one in the inventory wins.
	inv = mustParse(t, "inv.yaml", `
		all:
		  children:
		    b: {vars: {v: b}, hosts: {h: }}
		    a: {vars: {v: a}, hosts: {h: }}
	`)
	checkEqual(t, "v", inv.Host("h").Vars["v"], "a")

	// An alias and a native name are one variable: a host's user beats a
	// group's ansible_user, a host's ansible_port beats a group's port.
	inv = mustParse(t, "inv.yaml", `
		all:
		  vars: {ansible_user: ubuntu, port: 2222}
		  hosts:
		    h: {user: admin, ansible_port: 22}
	`)
	h = inv.Host("h")
	checkEqual(t, "user, port", []any{h.User, h.Port}, []any{"admin", 22})
	checkEqual(t, "vars", h.Vars, map[string]any{"user": "admin", "port": 22})
}

func TestYAMLHostsDoNotShareValues(t *testing.T) {
	inv := mustParse(t, "inv.yaml", `
		all:
		  vars:
		    limits: {slow: 1s}
		  hosts:
		    a:
		    b:
	`)
	inv.Host("a").Vars["limits"].(map[string]any)["slow"] = "changed"
	checkEqual(t, "b's limits", inv.Host("b").Vars["limits"], map[string]any{"slow": "1s"})
	checkEqual(t, "all's vars", inv.Groups["all"].Vars["limits"], map[string]any{"slow": "1s"})
}
