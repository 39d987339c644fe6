package steps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLineInFileEdit(t *testing.T) {
	const sshd = "# comment\nPort 22\n#PermitRootLogin yes\nPasswordAuthentication yes\n"
	for _, tc := range []struct {
		name string
		spec LineInFile
		in   string
		want string
	}{
		{"replace the match", LineInFile{Line: "PasswordAuthentication no", Regexp: `^#?PasswordAuthentication\b`}, sshd,
			"# comment\nPort 22\n#PermitRootLogin yes\nPasswordAuthentication no\n"},
		{"already there", LineInFile{Line: "Port 22"}, sshd, sshd},
		{"already there, regexp matches it", LineInFile{Line: "Port 22", Regexp: "^Port "}, sshd, sshd},
		{"the last match is replaced", LineInFile{Line: "x=3", Regexp: "^x="}, "x=1\nx=2\ny\n", "x=1\nx=3\ny\n"},
		{"appended at EOF", LineInFile{Line: "UseDNS no"}, sshd, sshd + "UseDNS no\n"},
		{"appended to a file without a last newline", LineInFile{Line: "b"}, "a", "a\nb\n"},
		{"a regexp that matches nothing inserts", LineInFile{Line: "MaxAuthTries 3", Regexp: "^MaxAuthTries"}, "a\n", "a\nMaxAuthTries 3\n"},
		{"insertafter the last match", LineInFile{Line: "Port 2222", InsertAfter: "^Port"}, "Port 22\nX\n", "Port 22\nPort 2222\nX\n"},
		{"insertafter matching nothing: EOF", LineInFile{Line: "z", InsertAfter: "^nothing"}, "a\n", "a\nz\n"},
		{"insertbefore the last match", LineInFile{Line: "# managed", InsertBefore: "^Port"}, sshd, "# comment\n# managed\nPort 22\n#PermitRootLogin yes\nPasswordAuthentication yes\n"},
		{"insertbefore BOF", LineInFile{Line: "first", InsertBefore: "BOF"}, "a\n", "first\na\n"},
		{"into an empty file", LineInFile{Line: "only"}, "", "only\n"},
		{"CRLF kept", LineInFile{Line: "b=2", Regexp: "^b="}, "a=1\r\nb=1\r\n", "a=1\r\nb=2\r\n"},
		{"CRLF for a new line", LineInFile{Line: "c=3"}, "a=1\r\n", "a=1\r\nc=3\r\n"},
		{"replace a last line without newline", LineInFile{Line: "b=2", Regexp: "^b="}, "a\nb=1", "a\nb=2"},
		{"absent by regexp removes every match", LineInFile{State: "absent", Regexp: "^#"}, sshd, "Port 22\nPasswordAuthentication yes\n"},
		{"absent by line", LineInFile{State: "absent", Line: "Port 22"}, sshd, "# comment\n#PermitRootLogin yes\nPasswordAuthentication yes\n"},
		{"absent, nothing there", LineInFile{State: "absent", Line: "nope"}, sshd, sshd},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.spec.edit(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
			if again, _ := tc.spec.edit(got); again != got {
				t.Errorf("not idempotent: %q", again)
			}
		})
	}
}

func TestLineInFileLoadErrors(t *testing.T) {
	for _, tc := range []struct{ step, want string }{
		// the step is on line 7, after `      - ` (column 9)
		{`lineinfile: {path: /etc/x, line: a, regexp: "^(a"}`, "t.yaml:7:53: lineinfile: regexp: error parsing regexp: missing closing ): `^(a`"},
		{`lineinfile: {path: /etc/x, line: a, insertafter: "[z"}`, "t.yaml:7:58: lineinfile: insertafter: error parsing regexp: missing closing ]"},
		{`lineinfile: {path: /etc/x, line: a, insertbefore: "a{2,1}"}`, "lineinfile: insertbefore: error parsing regexp: invalid repeat count"},
		{`lineinfile: {path: /etc/x, line: a, insertafter: EOF, insertbefore: BOF}`, "give insertafter or insertbefore, not both"},
		{`lineinfile: {path: /etc/x}`, "lineinfile: needs line:"},
		{`lineinfile: {path: /etc/x, state: absent}`, "state: absent needs regexp: or line:"},
		{`lineinfile: {path: /etc/x, line: "a\nb"}`, "lineinfile: line: one line only"},
		{`lineinfile: {path: /etc/x, line: a, state: gone}`, `lineinfile: state "gone": use present or absent`},
		{`lineinfile: {path: x, line: a}`, `lineinfile: path "x" must be an absolute path`},
	} {
		t.Run(tc.step, func(t *testing.T) {
			_, err := parseStep(t, tc.step)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to contain\n%s", err, tc.want)
			}
		})
	}
	if _, err := parseStep(t, `lineinfile: {path: /etc/x, line: a, regexp: "{{ vars.re }}"}`); err != nil {
		t.Errorf("a templated regexp waits until it is rendered: %v", err)
	}
}

func TestLineInFile(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			dir := tg.scratch(t)
			x := newExec(t, tg.tr, tg.become)
			x.Diff = true
			conf := filepath.Join(dir, "sshd_config")
			if err := os.WriteFile(conf, []byte("# sshd\nPort 22\nPasswordAuthentication yes\nX11Forwarding yes\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			k := mustKind(t, `lineinfile: {path: "`+conf+`", regexp: "^#?PasswordAuthentication", line: "PasswordAuthentication no"}`)
			r := predict(t, k, x, dir)
			wantStatus(t, r, Changed)
			golden(t, "lineinfile-replace.diff", dir, r.Diff)
			r = run(t, k, x)
			wantStatus(t, r, Changed)
			golden(t, "lineinfile-replace.diff", dir, r.Diff)
			if m := fileMode(t, conf); m != 0o600 {
				t.Errorf("the mode changed: %v", m)
			}
			wantStatus(t, run(t, k, x), OK)
			wantStatus(t, predict(t, k, x, dir), OK)

			wantStatus(t, run(t, mustKind(t, `lineinfile: {path: "`+conf+`", state: absent, regexp: "^X11"}`), x), Changed)
			if got := readFile(t, conf); got != "# sshd\nPort 22\nPasswordAuthentication no\n" {
				t.Errorf("after: %q", got)
			}

			newFile := filepath.Join(dir, "new.conf")
			wantErr(t, run(t, mustKind(t, `lineinfile: {path: "`+newFile+`", line: a}`), x), "does not exist (create: true makes it)")
			wantStatus(t, run(t, mustKind(t, `lineinfile: {path: "`+newFile+`", state: absent, line: a}`), x), OK)
			wantStatus(t, run(t, mustKind(t, `lineinfile: {path: "`+newFile+`", line: a, create: true, mode: "0640"}`), x), Changed)
			if got := readFile(t, newFile); got != "a\n" || fileMode(t, newFile) != 0o640 {
				t.Errorf("new file %q %v", got, fileMode(t, newFile))
			}
		})
	}
}
