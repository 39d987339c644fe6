package steps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestINILoadErrors(t *testing.T) {
	for _, tc := range []struct{ step, want string }{
		{`ini: {path: /etc/x.ini, section: s, option: o}`, "t.yaml:7:14: ini: needs value: for option o"},
		{`ini: {path: /etc/x.ini}`, "ini: needs option: and value:, or section:"},
		{`ini: {path: /etc/x.ini, option: o, value: v, state: absent}`, "ini: state: absent takes no value"},
		{`ini: {path: /etc/x.ini, state: absent}`, "ini: state: absent needs option: or section:"},
		{`ini: {path: /etc/x.ini, option: "a=b", value: v}`, `t.yaml:7:41: ini: option "a=b": a name holds no newline`},
		{`ini: {path: /etc/x.ini, section: "[s]", option: a, value: v}`, `ini: section "[s]"`},
		{`ini: {path: /etc/x.ini, option: a, value: "x\ny"}`, "ini: value: one line only"},
		{`ini: {path: /etc/x.ini, section: s, value: v}`, "ini: value: goes with option:"},
		{`ini: {path: /etc/x.ini, option: a, value: v, state: on}`, `ini: state "on": use present or absent`},
	} {
		t.Run(tc.step, func(t *testing.T) {
			_, err := parseStep(t, tc.step)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to contain\n%s", err, tc.want)
			}
		})
	}
}

const containersConf = `# containers.conf, trimmed
[containers]
log_size_max = -1
pids_limit = 2048

[engine]
cgroup_manager = "systemd"
`

func TestINI(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			dir := tg.scratch(t)
			x := newExec(t, tg.tr, tg.become)
			x.Diff = true
			conf := filepath.Join(dir, "settings.ini")
			if err := os.WriteFile(conf, []byte(containersConf), 0o644); err != nil {
				t.Fatal(err)
			}
			k := mustKind(t, `ini: {path: "`+conf+`", section: containers, option: pids_limit, value: 4096}`)
			r := predict(t, k, x, dir)
			wantStatus(t, r, Changed)
			golden(t, "ini-set.diff", dir, r.Diff)
			wantStatus(t, run(t, k, x), Changed)
			wantStatus(t, run(t, k, x), OK)
			wantStatus(t, predict(t, k, x, dir), OK)

			wantStatus(t, run(t, mustKind(t, `ini: {path: "`+conf+`", section: network, option: network_backend, value: netavark, no_extra_spaces: true}`), x), Changed)
			wantStatus(t, run(t, mustKind(t, `ini: {path: "`+conf+`", section: engine, state: absent}`), x), Changed)
			golden(t, "ini-edited.ini", "", readFile(t, conf))

			bad := filepath.Join(dir, "bad.ini")
			os.WriteFile(bad, []byte("[ok]\na = 1\n[broken\n"), 0o644)
			wantErr(t, run(t, mustKind(t, `ini: {path: "`+bad+`", section: ok, option: a, value: 2}`), x), bad+":3: section header \"[broken\" has no closing ]", "left as it was")
			if got := readFile(t, bad); got != "[ok]\na = 1\n[broken\n" {
				t.Errorf("the bad file changed: %q", got)
			}

			fresh := filepath.Join(dir, "fresh.ini")
			wantStatus(t, run(t, mustKind(t, `ini: {path: "`+fresh+`", section: s, state: absent}`), x), OK)
			wantErr(t, run(t, mustKind(t, `ini: {path: "`+fresh+`", section: s, option: o, value: v}`), x), "does not exist (create: true makes it)")
			wantStatus(t, run(t, mustKind(t, `ini: {path: "`+fresh+`", section: s, option: o, value: v, create: true}`), x), Changed)
			if got := readFile(t, fresh); got != "[s]\no = v\n" {
				t.Errorf("new file: %q", got)
			}
		})
	}
}
