package sim

import (
	"strings"
	"testing"
)

func TestSystemctl(t *testing.T) {
	w := newTestWorld(t)
	n := "worker-1"
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"systemctl", "is-active", "crio"}, 0, "active\n"},
		{[]string{"systemctl", "is-active", "nosuch"}, 3, "inactive\n"},
		{[]string{"systemctl", "is-enabled", "kubelet.service"}, 0, "enabled\n"},
		{[]string{"systemctl", "show", "-p", "ActiveState", "--value", "crio"}, 0, "active\n"},
		{[]string{"systemctl", "show", "crio", "-p", "ActiveState,SubState"}, 0, "ActiveState=active\nSubState=running\n"},
		{[]string{"systemctl", "stop", "kubelet"}, 0, ""},
		{[]string{"systemctl", "is-active", "kubelet"}, 3, "inactive\n"},
		{[]string{"systemctl", "is-active", "crio", "kubelet"}, 0, "active\ninactive\n"}, // any active: 0
		{[]string{"systemctl", "disable", "--now", "crio"}, 0, ""},
		{[]string{"systemctl", "is-enabled", "crio"}, 1, "disabled\n"},
		{[]string{"systemctl", "is-active", "-q", "crio"}, 3, ""},
		{[]string{"systemctl", "status", "nosuch"}, 4, ""},
		{[]string{"systemctl", "start", "nosuch"}, 5, ""},
		{[]string{"systemctl", "reload", "kubelet"}, 1, ""},
		{[]string{"systemctl", "enable", "--now", "crio", "kubelet"}, 0, ""},
		{[]string{"systemctl", "is-active", "crio", "kubelet"}, 0, "active\nactive\n"},
		{[]string{"systemctl", "daemon-reload"}, 0, ""},
	} {
		r := call(t, w, n, "", tc.args...)
		if r.code != tc.code || r.out != tc.out {
			t.Errorf("%v: exit %d out %q (stderr %q), want %d %q", tc.args, r.code, r.out, r.err, tc.code, tc.out)
		}
	}
	if status := must(t, w, n, "systemctl", "status", "crio", "--no-pager"); !strings.Contains(status, "Active: active (running) since ") {
		t.Errorf("status:\n%s", status)
	}
}

func TestJournalctl(t *testing.T) {
	w := newTestWorld(t)
	n := "worker-1"
	must(t, w, n, "systemctl", "restart", "crio")
	out := must(t, w, n, "journalctl", "-u", "crio", "-n", "3", "--no-pager")
	if lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); len(lines) != 3 || !strings.Contains(lines[0], " worker-1 crio[") {
		t.Errorf("-n 3:\n%s", out)
	}
	// crio logs in logrus' text format: the message carries level and msg
	out = must(t, w, n, "journalctl", "-u", "crio", "--since", "1 min ago", "-o", "cat", "-g", "Starting CRI-O")
	if lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "time=") || !strings.Contains(lines[0], `level=info msg="Starting CRI-O, version: 1.29.9`) {
		t.Errorf("--since -g -o cat:\n%s", out)
	}
	if out := must(t, w, n, "journalctl", "-u", "nosuch"); out != "-- No entries --\n" {
		t.Errorf("no entries: %q", out)
	}
	if r := call(t, w, n, "", "journalctl", "--since", "never"); r.code != 1 {
		t.Errorf("bad --since accepted")
	}
	if out := must(t, w, n, "journalctl", "--list-boots"); strings.Count(out, "\n") != 1 {
		t.Errorf("boots:\n%s", out)
	}
}

func TestCrioConfig(t *testing.T) {
	w := newTestWorld(t)
	n := "worker-2"
	writeNodeFile(t, w, n, "/etc/crio/crio.conf.d/99-local.conf", "# local settings\n[crio.runtime]\ndefault_runtime = 'runc' # explicit\n[crio.runtime.runtimes.runc]\nallowed_annotations = [\n  \"io.kubernetes.cri-o.Devices\",\n]\n")
	// crio status config asks the running daemon: unchanged until restart
	if cfg := must(t, w, n, "crio", "status", "config"); !strings.Contains(cfg, `default_runtime = "crun"`) {
		t.Errorf("status config before the restart:\n%s", cfg)
	}
	if cfg := must(t, w, n, "crio", "config"); !strings.Contains(cfg, `default_runtime = "runc"`) || !strings.Contains(cfg, `allowed_annotations = ["io.kubernetes.cri-o.Devices"]`) {
		t.Errorf("crio config:\n%s", cfg)
	}
	must(t, w, n, "systemctl", "restart", "crio")
	if cfg := must(t, w, n, "crio", "status", "config"); !strings.Contains(cfg, `default_runtime = "runc"`) {
		t.Errorf("status config after the restart:\n%s", cfg)
	}
	// a broken drop-in keeps crio from starting
	writeNodeFile(t, w, n, "/etc/crio/crio.conf.d/50-broken.conf", "[crio.runtime\n")
	if r := call(t, w, n, "", "systemctl", "restart", "crio"); r.code != 1 || !strings.Contains(r.err, "Job for crio.service failed") {
		t.Errorf("restart with a broken drop-in: %d %q", r.code, r.err)
	}
	if out := call(t, w, n, "", "systemctl", "is-active", "crio"); out.out != "failed\n" || out.code != 3 {
		t.Errorf("is-active: %+v", out)
	}
	if j := must(t, w, n, "journalctl", "-u", "crio", "-n", "5"); !strings.Contains(j, "unable to decode configuration /etc/crio/crio.conf.d/50-broken.conf") {
		t.Errorf("journal:\n%s", j)
	}
	removeRootPath(w.Machine(n).Root, "/etc/crio/crio.conf.d/50-broken.conf")
	writeNodeFile(t, w, n, "/etc/crio/crio.conf.d/zz-kata.conf", "[crio.runtime]\ndefault_runtime = \"kata\"\n")
	if r := call(t, w, n, "", "systemctl", "start", "crio"); r.code != 1 {
		t.Errorf("start with an unknown default runtime: %d", r.code)
	}
}

func TestTOML(t *testing.T) {
	doc := newTOMLTable()
	src := "a = 1\n[x.\"y.z\"]\nb = \"q\\\"uote\" # c\nc = [1, 2,\n 3]\nd.e = true\nf = 'lit\\eral'\ng = {h = 1}\n"
	if err := parseTOML(src, doc); err != nil {
		t.Fatal(err)
	}
	if v, _ := doc.lookup("x", "y.z", "b"); v != `q"uote` {
		t.Errorf("b = %v", v)
	}
	if v, _ := doc.lookup("x", "y.z", "d", "e"); v != true {
		t.Errorf("d.e = %v", v)
	}
	if v, _ := doc.lookup("x", "y.z", "f"); v != `lit\eral` {
		t.Errorf("f = %v", v)
	}
	if v, _ := doc.lookup("x", "y.z", "c"); len(v.([]any)) != 3 {
		t.Errorf("c = %v", v)
	}
	if v, _ := doc.lookup("x", "y.z", "g", "h"); v != int64(1) {
		t.Errorf("g.h = %v", v)
	}
	for _, bad := range []string{"[a\n", "a = \n", "a = \"open\n", "= 1\n", "a = [1 2]\n", "[[t]]\n",
		"[a]\n[a]\n", "d = 1979-05-27\n", "a = [{b = 1}]\n", "a = 1\na = 2\n"} {
		if err := parseTOML(bad, newTOMLTable()); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	// Keys and tables print in the order the document defines them.
	ordered := newTOMLTable()
	if err := parseTOML("b = 1\na = 2\n[z]\nk = 'v'\n[y]\n", ordered); err != nil {
		t.Fatal(err)
	}
	if got := encodeTOML(ordered); got != "b = 1\na = 2\n[z]\n  k = \"v\"\n[y]\n" {
		t.Errorf("order:\n%s", got)
	}
	enc := encodeTOML(doc)
	again := newTOMLTable()
	if err := parseTOML(enc, again); err != nil || encodeTOML(again) != enc {
		t.Errorf("round trip:\n%s\n%v", enc, err)
	}
}

func TestJSONPath(t *testing.T) {
	var data any = map[string]any{"items": []any{
		map[string]any{"name": "a", "n": 1.0, "conds": []any{map[string]any{"type": "Ready", "status": "True"}}},
		map[string]any{"name": "b", "n": 2.0, "conds": []any{map[string]any{"type": "Ready", "status": "False"}}},
	}}
	for tmpl, want := range map[string]string{
		"{.items[*].name}":        "a b",
		"{.items[0].name}":        "a",
		"{.items[-1].name}":       "b",
		`{.items[?(@.n>1)].name}`: "b",
		`{range .items[*]}{.name}={.conds[?(@.type=="Ready")].status}{"\n"}{end}`: "a=True\nb=False\n",
		"x{.items[1]['name']}y": "xby",
		"{.missing}":            "",
	} {
		nodes, err := parseJSONPath(tmpl)
		if err != nil {
			t.Errorf("%s: %v", tmpl, err)
			continue
		}
		if got, err := execJSONPath(nodes, data); err != nil || got != want {
			t.Errorf("%s = %q (%v), want %q", tmpl, got, err, want)
		}
	}
	for _, bad := range []string{"{.a", "{end}", "{range .a}"} {
		if _, err := parseJSONPath(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestSelectors(t *testing.T) {
	obj := map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "web", "tier": "fe"}}}
	for sel, want := range map[string]bool{
		"app=web": true, "app==web": true, "app!=web": false, "app": true, "!app": false,
		"app in (web,api)": true, "app notin (web)": false, "app=web,tier=be": false, "": true,
	} {
		s, err := parseLabelSelector(sel)
		if err != nil || s.matches(obj) != want {
			t.Errorf("%q: %v (%v), want %v", sel, s.matches(obj), err, want)
		}
	}
}
