package inventory

import (
	"fmt"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook/diag"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{{
		name: "bad.yaml",
		src: `
			all:
			  hots:
			    a:
			  vars:
			    port: ssh
			    transport: rehersal
			    ansible_user: x
			    user: y
			    proxy_jump: [a]
			  children:
			    workers:
			      hosts: [w1, w2]
			    db:
			      hosts:
			        db1: 10.0.0.1
			        db[1:x]:
			        "":
			        db1:
			    web:
			      children:
			        db:
			          children:
			            web:
			    "bad name":
			    ports:
			      hosts:
			        p1: {ansible_port: 70000, address: [1]}
			        p2: {port: 22.5, identity_file: true, transport: 3}
		`,
		want: []string{
			`bad.yaml:2:3: unknown key "hots" in group "all": expected hosts, vars or children (did you mean "hosts"?)`,
			`bad.yaml:5:11: port must be a port number from 1 to 65535, not "ssh"`,
			`bad.yaml:6:16: transport "rehersal" is not one of ssh, local, rehearsal (did you mean "rehearsal"?)`,
			`bad.yaml:8:5: ansible_user and user set the same variable; keep one`,
			`bad.yaml:9:17: proxy_jump must be a string, not a list`,
			"bad.yaml:12:14: hosts of group \"workers\" must be a mapping of host names, not a list (write each host as a key: `web1:` rather than `- web1`)",
			`bad.yaml:15:14: vars of host "db1" must be a mapping, not "10.0.0.1"`,
			`bad.yaml:16:9: invalid host range [1:x] in "db[1:x]": start and end must both be numbers, or both single letters`,
			`bad.yaml:17:9: empty host name`,
			`bad.yaml:18:9: duplicate key "db1" (first at line 15)`,
			`bad.yaml:21:9: group cycle: db -> web -> db`,
			`bad.yaml:24:5: invalid group name "bad name": no spaces, control characters or any of , : ! & * ? [ ] ~`,
			`bad.yaml:27:28: ansible_port must be a port number from 1 to 65535, not 70000`,
			`bad.yaml:27:44: address must be a string, not a list`,
			`bad.yaml:28:20: port must be a port number from 1 to 65535, not 22.5`,
			`bad.yaml:28:41: identity_file must be a string, not true`,
			`bad.yaml:28:58: transport must be one of ssh, local, rehearsal, not 3`,
		},
	}, {
		name: "cycle.yaml",
		src: `
			a:
			  children:
			    b:
			      children:
			        c:
			          children:
			            a:
			b:
			  children:
			    b:
			x:
			  children:
			    all:
		`,
		want: []string{
			`cycle.yaml:7:13: group cycle: a -> b -> c -> a`,
			`cycle.yaml:10:5: group cycle: b -> b`,
			`cycle.yaml:13:5: group all cannot be a child of group "x"`,
		},
	}, {
		name: "syntax.yaml",
		src:  "all:\n  hosts:\n    a: [\n",
		want: []string{`syntax.yaml:3: did not find expected node content`},
	}, {
		name: "two.yaml",
		src:  "all: {}\n---\nall: {}\n",
		want: []string{`two.yaml:2:1: only one YAML document is allowed`},
	}, {
		name: "seq.yaml",
		src:  "- a\n- b\n",
		want: []string{`seq.yaml:1:1: an inventory must be a mapping of groups (all: {hosts, vars, children}), not a list`},
	}, {
		name: "group.yaml",
		src:  "all:\n  children:\n    web: [a]\n",
		want: []string{`group.yaml:3:10: group "web" must be a mapping with hosts, vars or children, not a list`},
	}, {
		name: "merge.yaml",
		src:  "all:\n  vars:\n    <<: 3\n  hosts:\n    a: {<<: [*x]}\n",
		want: []string{`merge.yaml:5:14: unknown anchor 'x' referenced`},
	}, {
		name: "merge2.yaml",
		src:  "all:\n  vars:\n    <<: 3\n",
		want: []string{`merge2.yaml:3:9: a merge key (<<) takes a mapping or a list of mappings, not 3`},
	}, {
		name: "self.yaml",
		src:  "all:\n  vars: &v\n    x: *v\n",
		want: []string{`self.yaml:3:8: invalid value: anchor 'v' value contains itself`},
	}, {
		name: "range.yaml",
		src:  "all:\n  hosts:\n    n[0:999999]:\n    m[01:1]:\n    o[5:a]:\n    p[1:3:0]:\n    q[1:]:\n    r[1:3:\n    s]:\n    t:99999:\n",
		want: []string{
			`range.yaml:3:5: host range "n[0:999999]" expands to more than 100000 hosts`,
			`range.yaml:4:5: invalid host range [01:1] in "m[01:1]": a zero-padded start and the end must have the same width`,
			`range.yaml:5:5: invalid host range [5:a] in "o[5:a]": start and end must both be numbers, or both single letters`,
			`range.yaml:6:5: invalid host range [1:3:0] in "p[1:3:0]": the step must be a positive integer`,
			`range.yaml:7:5: invalid host range [1:] in "q[1:]": the end is missing`,
			`range.yaml:8:5: invalid host range in "r[1:3": "[" without "]"`,
			`range.yaml:9:5: invalid host range in "s]": "]" without "["`,
			`range.yaml:10:5: invalid port "99999" in host "t:99999" (expected 1 to 65535)`,
		},
	}, {
		name: "vault.yaml",
		src:  "all:\n  vars:\n    password: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n      6162\n",
		want: []string{`vault.yaml:3:15: Ansible Vault values (!vault) are not supported; keep secrets out of inventory vars`},
	}, {
		name: "multiline.yaml",
		src:  "!0 0\n\n0",
		want: []string{`multiline.yaml:1:1: an inventory must be a mapping of groups (all: {hosts, vars, children}), not "0\n0"`},
	}, {
		name: "bad.ini",
		src: `
			[web]
			web1 port=ssh ansible_connection=docker
			web2 novalue
			web[1:0]
			web3 x="unterminated
			[web:childs]
			[web servers]
			[:vars]
			[kube:children]
			web
			workres
			extra words
			[ghost:vars]
			a=1
			[web:vars]
			just-a-word
			user=a
			ansible_user=b
			[broken
		`,
		want: []string{
			`bad.ini:2:11: port must be a port number from 1 to 65535, not "ssh"`,
			`bad.ini:2:34: ansible_connection "docker" is not one of ssh, local, rehearsal`,
			`bad.ini:3:6: expected key=value after the host name, got "novalue"`,
			`bad.ini:4:1: invalid host range [1:0] in "web[1:0]": the start comes after the end`,
			`bad.ini:5:8: unterminated " quote`,
			`bad.ini:6:1: unknown section type "childs" for group "web": expected vars or children`,
			`bad.ini:7:1: invalid group name "web servers": no spaces, control characters or any of , : ! & * ? [ ] ~`,
			`bad.ini:8:1: empty group name`,
			`bad.ini:11:1: group "workres" in [kube:children] is never defined`,
			`bad.ini:12:7: unexpected "words" after the group name in [kube:children]`,
			`bad.ini:13:1: [ghost:vars] is for a group that is never defined`,
			`bad.ini:16:1: expected key=value in [web:vars], got "just-a-word"`,
			`bad.ini:19:1: invalid section header "[broken": expected [group], [group:vars] or [group:children]`,
		},
	}, {
		name: "suggest.ini",
		src: `
			[all:children]
			workrs
			[workers]
			w1 ansible_connection=rehersal
			[wrkers:vars]
			x=1
			[workers]
			ansible_user=ops
		`,
		want: []string{
			`suggest.ini:2:1: group "workrs" in [all:children] is never defined (did you mean "workers"?)`,
			`suggest.ini:4:23: ansible_connection "rehersal" is not one of ssh, local, rehearsal (did you mean "rehearsal"?)`,
			`suggest.ini:5:1: [wrkers:vars] is for a group that is never defined (did you mean "workers"?)`,
			`suggest.ini:8:1: expected a host name, got "ansible_user=ops" (variables go after the host name, or in a [workers:vars] section)`,
		},
	}, {
		name: "indent.ini",
		src:  "[g]\n   h1 ansible_port=x\n[g:vars]\n  k = 'open\n",
		want: []string{
			`indent.ini:2:20: ansible_port must be a port number from 1 to 65535, not "x"`,
			`indent.ini:4:7: unterminated ' quote`,
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := withRehearsal.Parse(tt.name, []byte(dedent(tt.src)))
			if err == nil {
				t.Fatalf("no error; hosts %v", names(inv.Hosts))
			}
			if inv != nil {
				t.Errorf("an inventory was returned with the error")
			}
			checkEqual(t, "errors", errLines(err), tt.want)
			// Every problem is its own error, with its position.
			if n := len(diag.Errors(err)); n != len(tt.want) {
				t.Errorf("%d errors in the list, want %d", n, len(tt.want))
			}
			checkPositioned(t, err, tt.name)
		})
	}
}

func TestWarnings(t *testing.T) {
	inv := mustParse(t, "w.yaml", `
		web:
		  hosts:
		    web:
	`)
	checkEqual(t, "warnings", warnings(inv), []string{`w.yaml:3:5: warning: "web" is both a host and a group; patterns name the group`})
	got, err := inv.Select("web")
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "Select(web)", names(got), []string{"web"})
}

func TestTooManyHosts(t *testing.T) {
	defer func(n int) { maxHosts = n }(maxHosts)
	maxHosts = 4
	_, err := Parse("many.ini", []byte("[a]\nh[1:3]\n[b]\nh[2:3]\ng[1:2]\ng3\n"))
	checkEqual(t, "errors", errLines(err), []string{"many.ini:5:1: the inventory defines more than 4 hosts"})
}

func TestTooLarge(t *testing.T) {
	defer func(g, r int) { maxGroups, maxResolved = g, r }(maxGroups, maxResolved)
	maxGroups, maxResolved = 5, 1000

	// all, ungrouped, a, b, c, d
	_, err := Parse("groups.ini", []byte("[a]\n[b]\n[c]\n[d]\n"))
	checkEqual(t, "too many groups", errLines(err), []string{"groups.ini: the inventory defines more than 5 groups"})

	maxGroups = 100
	tooLarge := "the inventory is too large to resolve: its hosts' groups and variables come to more than 1000 entries"
	vars := strings.Repeat("v=1\n", 5) // one source each
	_, err = Parse("ok.ini", []byte("[g]\nh[1:100]\n[g:vars]\n"+vars))
	if err != nil {
		t.Fatalf("100 hosts × (2 groups + 5 vars) = 700 entries: %v", err)
	}
	_, err = Parse("vars.ini", []byte("[g]\nh[1:100]\n[g:vars]\n"+vars+strings.Repeat("w=2\n", 4)))
	checkEqual(t, "too many variables", errLines(err), []string{"vars.ini: " + tooLarge})

	// A chain of 50 groups: 1 + 2 + ... + 50 ancestors.
	var chain strings.Builder
	for i := 1; i < 50; i++ {
		fmt.Fprintf(&chain, "[g%d:children]\ng%d\n", i, i+1)
	}
	chain.WriteString("[g50]\n")
	_, err = Parse("chain.ini", []byte(chain.String()))
	checkEqual(t, "deep hierarchy", errLines(err), []string{"chain.ini: " + tooLarge})
}

// A variable name with a line break or another control character is
// refused where it stands, whatever the inventory's format: nothing could refer to it, and YAML cannot
// write every such key back as it read it (the frozen inventory of a run).
func TestVariableNameWithControlCharacter(t *testing.T) {
	_, err := Parse("ctl.yaml", []byte("all:\n  hosts:\n    web1: {\"a\\nb\": 1, ok: 2}\n  vars:\n    \"\\t\": x\n"))
	checkEqual(t, "errors", errLines(err), []string{
		`ctl.yaml:3:12: variable name "a\nb" has a control character (a line break, tab or the like)`,
		`ctl.yaml:5:5: variable name "\t" has a control character (a line break, tab or the like)`,
	})
	_, err = Parse("ctl.ini", []byte("web1 a\x01=1\n[all:vars]\nb\x7f=2\n"))
	checkEqual(t, "errors", errLines(err), []string{
		`ctl.ini:1:6: variable name "a\x01" has a control character (a line break, tab or the like)`,
		`ctl.ini:3:1: variable name "b\x7f" has a control character (a line break, tab or the like)`,
	})
}

// TestUnsafeHostNames: a host name that a shell step or a path would read
// as more than a name is refused where it stands, in both formats.
func TestUnsafeHostNames(t *testing.T) {
	const msg = "a host name is printed and used in paths and commands, so it may hold letters, digits, '.', '-' and '_' only (name the host simply and give its address with address: or ansible_host=)"
	_, err := Parse("evil.yaml", []byte("all:\n  hosts:\n    'n1;touch${IFS}x;`id`':\n    a/b:\n    a_b:\n    ok-1.example:\n    '::1':\n"))
	checkEqual(t, "errors", errLines(err), []string{
		`evil.yaml:3:5: host name "n1;touch${IFS}x;` + "`id`" + `": ';' is not allowed; ` + msg,
		`evil.yaml:4:5: host name "a/b": '/' is not allowed; ` + msg,
	})
	_, err = Parse("evil.ini", []byte("[web]\nweb$(id) ansible_host=10.0.0.1\n..\n"))
	checkEqual(t, "errors", errLines(err), []string{
		`evil.ini:2:1: host name "web$(id)": '$' is not allowed; ` + msg,
		`evil.ini:3:1: host name "..": not a name; ` + msg,
	})
}

// A transport beside ssh and local is the caller's: Load takes any name when
// the caller adds none, and only the ones it adds otherwise.
func TestTransportNames(t *testing.T) {
	tests := []struct {
		opts      Options
		transport string
		want      string // the host's transport, or the error
	}{
		{Options{}, "ssh", "ssh"},
		{Options{}, "paramiko", "ssh"},
		{Options{}, "local", "local"},
		{Options{}, "rehearsal", "rehearsal"},
		{Options{}, `"two words"`, `t.yaml:1:30: transport "two words" is not one of ssh, local or another transport's name`},
		{Options{}, `""`, `t.yaml:1:30: transport "" is not one of ssh, local or another transport's name`},
		{Options{}, "[a]", `t.yaml:1:30: transport must be one of ssh, local or another transport's name, not a list`},
		{withRehearsal, "rehearsal", "rehearsal"},
		{withRehearsal, "local", "local"},
		{withRehearsal, "rehersal", `t.yaml:1:30: transport "rehersal" is not one of ssh, local, rehearsal (did you mean "rehearsal"?)`},
		{Options{Transports: []string{}}, "rehearsal", `t.yaml:1:30: transport "rehearsal" is not one of ssh, local`},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v %s", tt.opts.Transports, tt.transport), func(t *testing.T) {
			src := "all: {hosts: {h: {transport: " + tt.transport + "}}}\n"
			inv, err := tt.opts.Parse("t.yaml", []byte(src))
			got := ""
			if err != nil {
				got = err.Error()
			} else {
				got = inv.Hosts[0].Transport
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}
