package steps

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook"
)

// TestLoadErrors checks that bad step specs are refused at load time, each
// with a message at its position.
func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct{ step, want string }{
		// the step is on line 7, after `      - ` (column 9)
		{`copy: {dest: /etc/x}`, "t.yaml:7:15: copy: give either src: (a local file) or content:"},
		{`copy: {src: a, content: b, dest: /etc/x}`, "copy: give either src: (a local file) or content:"},
		{`copy: {src: a, dest: etc/x}`, `t.yaml:7:30: copy: dest "etc/x" must be an absolute path`},
		{`copy: {src: a, dest: /etc/}`, `copy: dest "/etc/" must name a file, not a directory`},
		{`copy: {src: a, dest: /etc/x, mode: "0998"}`, `t.yaml:7:44: copy: mode "0998": write it in octal`},
		{`copy: {src: a, dest: /etc/x, mdoe: "0644"}`, `unknown key "mdoe" (did you mean "mode"?)`},
		{`copy: {src: a}`, `copy: needs dest:`},
		{`template: {content: "{{ x + }}", dest: /x}`, `t.yaml:7:29: template: bad expression`},
		{`template: {content: "{{ x", dest: /x}`, `unclosed {{`},
		{`script: {args: [a]}`, "script: needs the path of a local script"},
		{`script: [a]`, "expected a mapping, got a list"},
		{`fetch: {src: etc/hosts}`, `fetch: src "etc/hosts" must be an absolute path`},
		{`fetch: {src: /etc/hosts, dest: ../x}`, `fetch: dest "../x" must be a relative file path that stays inside the run directory`},
		{`fetch: {src: /etc/hosts, dest: /tmp/x}`, `must be a relative file path`},
		{`backup: {name: "a b", paths: [/etc]}`, `backup: name "a b": use letters`},
		{`backup: {name: a, paths: [etc]}`, `backup: path "etc" must be absolute`},
		{`backup: {name: a, paths: [/]}`, `archiving the whole root is not supported`},
		{`backup: {name: a}`, `backup: needs paths:`},
		{`backup: {name: a, paths: [/etc], missing: skip}`, `backup: missing: "skip": use fail or ignore`},
		{`restore: {}`, `restore: needs the name of a backup`},
		{`apt: {name: Cri-O}`, `apt: "Cri-O" is not a Debian package name`},
		{`apt: {name: cri-o, version: "1.30 4"}`, `apt: "1.30 4" is not a Debian version`},
		{`apt: {name: cri-o, state: newest}`, `apt: state "newest": use present, absent or latest`},
		{`apt: {name: cri-o, state: absent, hold: true}`, `state: absent takes no version, hold, allow_downgrade or only_upgrade`},
		{`apt: {name: cri-o, hold: yes}`, `expected true or false, got "yes"`},
		{`apt_repository: {name: cri-o}`, `apt_repository: needs line:`},
		{`apt_repository: {name: "../x", line: deb x /}`, `apt_repository: name "../x": use letters`},
		{`apt_repository: {name: x, state: absent, line: deb x /}`, `state: absent takes no line or key_url`},
		{`systemd: {name: crio, state: start}`, `t.yaml:7:38: systemd: state "start": use started, stopped, restarted or reloaded`},
		{`systemd: {name: crio}`, `systemd: give state:, enabled: or daemon_reload:`},
		{`systemd: {name: "crio; reboot", state: started}`, `is not a unit name`},
		{`systemd: {name: crio, state: started, timeout: 5}`, `bad duration "5"`},
		{`wait_for: {timeout: 1m}`, `wait_for: give either command: or port:`},
		{`wait_for: {port: 70000}`, `wait_for: port "70000": use a number from 1 to 65535`},
		{`wait_for: {command: "true", host: db}`, `host: goes with port:`},
		{`reboot: {timeout: soon}`, `bad duration "soon"`},
		{`reboot: {wiat: 1m}`, `unknown key "wiat" (did you mean "wait"?)`},
		{`snapshot: {name: pods}`, `snapshot: needs shell:`},
		{`snapshot: {name: 1pods, shell: x}`, `snapshot: name "1pods" must be a letter`},
		{`compare: {snapshot: pods, expect: same}`, `compare: expect "same": use unchanged or changed`},
	} {
		t.Run(tc.step, func(t *testing.T) {
			_, err := parseStep(t, tc.step)
			if err == nil {
				t.Fatalf("loaded without error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to contain\n%s", err, tc.want)
			}
		})
	}
}

// TestLoadTemplatedFieldsWait checks that values holding {{ }} are left
// to be checked once rendered.
func TestLoadTemplatedFieldsWait(t *testing.T) {
	for _, step := range []string{
		`copy: {content: x, dest: "{{ vars.dir }}/x", mode: "{{ vars.mode }}"}`,
		`fetch: {src: "{{ vars.f }}", dest: "{{ vars.f }}"}`,
		`apt: {name: "{{ vars.pkg }}", version: "{{ vars.v }}"}`,
		`wait_for: {port: "{{ vars.port }}"}`,
		`backup: {name: "{{ vars.n }}", paths: ["{{ vars.p }}"]}`,
	} {
		if _, err := parseStep(t, step); err != nil && strings.Contains(err.Error(), "must") {
			t.Errorf("%s: %v", step, err)
		}
	}
}

// TestTemplateContentNotRenderedByEngine checks that RenderSpec leaves a
// template's body alone (the step renders it at run time), while other
// fields are rendered.
func TestTemplateContentNotRenderedByEngine(t *testing.T) {
	k := mustKind(t, `template: {content: "a={{ 1 + 1 }}", dest: "/etc/{{ 'x' }}"}`)
	out, err := runbook.RenderSpec(k, &runbook.Renderer{Env: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	tp := out.(*Template)
	if tp.Content.Text != "a={{ 1 + 1 }}" || tp.Dest != "/etc/x" {
		t.Errorf("rendered spec: content %q dest %q", tp.Content.Text, tp.Dest)
	}
}

func TestDescribe(t *testing.T) {
	for _, tc := range []struct{ step, want string }{
		{`copy: {src: 99-local.conf, dest: /etc/crio/crio.conf.d/99-local.conf, mode: "0644", owner: root, group: root}`,
			"copy: 99-local.conf -> /etc/crio/crio.conf.d/99-local.conf (0644 root:root)"},
		{`copy: {content: "abc", dest: /x}`, "copy: content (3 bytes) -> /x"},
		{`copy: {content: "", dest: /x, group: adm}`, "copy: content (0 bytes) -> /x (:adm)"},
		{`template: {src: crio.conf.j2, dest: /etc/crio/crio.conf, owner: root}`, "template: crio.conf.j2 -> /etc/crio/crio.conf (root)"},
		{`script: files/check.sh`, "script: files/check.sh"},
		{`script: {src: x.sh, args: [a b, c]}`, "script: x.sh 'a b' c"},
		{`fetch: {src: /etc/crio/crio.conf}`, "fetch: /etc/crio/crio.conf -> fetched/HOST/etc/crio/crio.conf"},
		{`backup: {name: crio, paths: [/etc/crio, /etc/containers]}`, "backup: crio = /etc/crio /etc/containers -> /var/backups/runbook/RUN_ID/HOST/crio.tar.gz"},
		{`restore: crio`, "restore: crio over /"},
		{`apt: {name: cri-o, version: 1.30.4-1.1, hold: true}`, "apt: cri-o = 1.30.4-1.1, hold"},
		{`apt: {name: cri-o, version: 1.29.9-1.1, allow_downgrade: true, update_cache: true}`, "apt: update cache, cri-o = 1.29.9-1.1, allow downgrade"},
		{`apt: {name: cri-o, state: absent}`, "apt: remove cri-o"},
		{`apt_repository: {name: cri-o, line: "deb [signed-by=/etc/apt/keyrings/cri-o-apt-keyring.gpg] https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.30/deb/ /"}`,
			`apt_repository: /etc/apt/sources.list.d/cri-o.list = "deb [signed-by=/etc/apt/keyrings/cri-o-apt-keyring.gpg] https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.30/deb/ /"`},
		{`apt_repository: {name: x, line: deb y /, key_url: "https://k/Release.key"}`,
			`apt_repository: /etc/apt/sources.list.d/x.list = "deb y /", key /etc/apt/keyrings/x.gpg from https://k/Release.key if missing`},
		{`apt_repository: {name: x, state: absent}`, "apt_repository: remove /etc/apt/sources.list.d/x.list"},
		{`systemd: {name: crio, state: restarted}`, "systemd: restart crio"},
		{`systemd: {name: kubelet, state: started, enabled: true, daemon_reload: true}`, "systemd: daemon-reload, enable kubelet, start kubelet"},
		{`wait_for: {port: 10250}`, "wait_for: port 127.0.0.1:10250 (timeout 5m0s)"},
		{`wait_for: {command: "crictl info", timeout: 1m}`, "wait_for: command crictl info (timeout 1m0s)"},
		{`reboot:`, "reboot: and wait up to 10m0s for a new boot id"},
		{`reboot: {timeout: 15m, wait: 30s}`, "reboot: and wait up to 15m0s for a new boot id, then 30s"},
		{`snapshot: {name: pods, shell: crictl pods -q}`, "snapshot: pods = crictl pods -q"},
		{`compare: pods`, "compare: snapshot pods unchanged"},
		{`compare: {snapshot: pods, expect: changed, shell: crictl pods}`, "compare: snapshot pods changed (with crictl pods)"},
	} {
		if got := mustKind(t, tc.step).Describe(); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.step, got, tc.want)
		}
	}
}

// TestSchemaHasKinds checks that the JSON Schema describes every new kind,
// with the scalar shorthands where they exist.
func TestSchemaHasKinds(t *testing.T) {
	b, err := runbook.Schema()
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	step := s["$defs"].(map[string]any)["step"].(map[string]any)["properties"].(map[string]any)
	for _, k := range []string{"script", "copy", "template", "fetch", "backup", "restore", "apt", "apt_repository", "systemd", "wait_for", "reboot", "snapshot", "compare"} {
		if step[k] == nil {
			t.Errorf("schema lacks %s", k)
		}
	}
	if !strings.Contains(string(b), `"allow_downgrade"`) || !strings.Contains(string(b), `"restarted"`) {
		t.Error("schema lacks apt or systemd fields")
	}
}
