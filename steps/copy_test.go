package steps

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func fileMode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCopy(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			dir := tg.scratch(t)
			x := newExec(t, tg.tr, tg.become)
			dest := filepath.Join(dir, "app.conf")
			step := func(extra string) Kind {
				return mustKind(t, `copy: {content: "port = 1\n", dest: "`+dest+`"`+extra+`}`)
			}

			r := run(t, step(`, mode: "0640"`), x)
			wantStatus(t, r, Changed)
			if got := readFile(t, dest); got != "port = 1\n" {
				t.Errorf("content %q", got)
			}
			if m := fileMode(t, dest); m != 0o640 {
				t.Errorf("mode %v, want 0640", m)
			}
			if r.Data["sha256_after"] != sha256Hex([]byte("port = 1\n")) || r.Data["sha256_before"] != "" {
				t.Errorf("data %v", r.Data)
			}

			wantStatus(t, run(t, step(`, mode: "0640"`), x), OK)
			wantStatus(t, run(t, step(``), x), OK) // no mode: keeps 0640

			r = run(t, step(`, mode: "600"`), x) // 600 is octal too
			wantStatus(t, r, Changed)
			if m := fileMode(t, dest); m != 0o600 {
				t.Errorf("mode %v, want 0600", m)
			}
			if d, _ := r.Data["changes"].([]string); len(d) != 1 || d[0] != "mode" {
				t.Errorf("changes %v, want [mode]", r.Data["changes"])
			}

			r = run(t, mustKind(t, `copy: {content: "port = 2\n", dest: "`+dest+`"}`), x)
			wantStatus(t, r, Changed)
			if got := readFile(t, dest); got != "port = 2\n" {
				t.Errorf("content %q", got)
			}
			if m := fileMode(t, dest); m != 0o600 {
				t.Errorf("an existing file's mode must be kept: %v", m)
			}
			if r.Data["sha256_before"] != sha256Hex([]byte("port = 1\n")) {
				t.Errorf("sha256_before %v", r.Data["sha256_before"])
			}
			leftovers, _ := filepath.Glob(dest + ".rb-tmp-*")
			if len(leftovers) > 0 {
				t.Errorf("temporary files left: %v", leftovers)
			}
		})
	}
}

func TestCopySrcNewFileAndSymlink(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			dir := tg.scratch(t)
			x := newExec(t, tg.tr, tg.become)
			if err := os.WriteFile(filepath.Join(x.BaseDir, "99-local.conf"), []byte("[crio.runtime]\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			dest := filepath.Join(dir, "99-local.conf")
			k := mustKind(t, `copy: {src: 99-local.conf, dest: "`+dest+`"}`)
			wantStatus(t, run(t, k, x), Changed)
			if m := fileMode(t, dest); m != 0o644 {
				t.Errorf("a new file gets 0644, got %v", m)
			}
			wantStatus(t, run(t, k, x), OK)

			// A symlink at dest is replaced by a file; its target is left.
			target := filepath.Join(dir, "target")
			os.WriteFile(target, []byte("[crio.runtime]\n"), 0o644)
			link := filepath.Join(dir, "link.conf")
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			r := run(t, mustKind(t, `copy: {src: 99-local.conf, dest: "`+link+`"}`), x)
			wantStatus(t, r, Changed)
			if fileMode(t, link)&os.ModeSymlink != 0 || r.Data["replaced_symlink"] != true {
				t.Errorf("symlink not replaced: %v", r.Data)
			}
		})
	}
}

func TestCopyFailures(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			dir := tg.scratch(t)
			x := newExec(t, tg.tr, tg.become)
			wantErr(t, run(t, mustKind(t, `copy: {content: x, dest: "`+dir+`/nope/x.conf"}`), x), "directory "+dir+"/nope does not exist on the host")
			wantErr(t, run(t, mustKind(t, `copy: {content: x, dest: "`+dir+`"}`), x), "is a directory on the host")
			wantErr(t, run(t, mustKind(t, `copy: {src: missing.conf, dest: "`+dir+`/x"}`), x), "copy: reading src", "missing.conf")
			k := &Copy{Content: new(string), Dest: dir + "/x", Mode: "{{ bad }}"} // as if rendered wrongly
			wantErr(t, run(t, k, x), `mode "{{ bad }}"`)
		})
	}
}

// TestCopyOwnership sets owner and group by name and by number (root
// only: only root may give files away).
func TestCopyOwnership(t *testing.T) {
	nobody, err := user.Lookup("nobody")
	if err != nil || !isRoot() {
		t.Skip("needs root and a user nobody")
	}
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			dir := tg.scratch(t)
			os.Chmod(dir, 0o755)
			x := newExec(t, tg.tr, tg.become)
			dest := filepath.Join(dir, "owned")
			r := run(t, mustKind(t, `copy: {content: "x", dest: "`+dest+`", owner: nobody, group: "`+nobody.Gid+`", mode: "0600"}`), x)
			wantStatus(t, r, Changed)
			out := readOwner(t, dest)
			if out != nobody.Uid+":"+nobody.Gid {
				t.Errorf("owner %s, want %s:%s", out, nobody.Uid, nobody.Gid)
			}
			wantStatus(t, run(t, mustKind(t, `copy: {content: "x", dest: "`+dest+`", owner: "`+nobody.Uid+`", mode: "0600"}`), x), OK)
			r = run(t, mustKind(t, `copy: {content: "x", dest: "`+dest+`", owner: root}`), x)
			wantStatus(t, r, Changed)
			if d, _ := r.Data["changes"].([]string); strings.Join(d, ",") != "owner" {
				t.Errorf("changes %v", r.Data["changes"])
			}
			if got := readOwner(t, dest); got != "0:"+nobody.Gid {
				t.Errorf("owner %s after chown to root, group kept", got)
			}
		})
	}
}

func TestTemplate(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			dir := tg.scratch(t)
			x := newExec(t, tg.tr, tg.become)
			x.Render = renderer(map[string]any{"vars": map[string]any{"runtime": "crun"}, "host": map[string]any{"name": "host1"}})
			dest := filepath.Join(dir, "99-local.conf")
			k := mustKind(t, `template: {content: "# {{ host.name }}\n[crio.runtime]\ndefault_runtime = \"{{ vars.runtime }}\"\n", dest: "`+dest+`", mode: "0644"}`)
			wantStatus(t, run(t, k, x), Changed)
			want := "# host1\n[crio.runtime]\ndefault_runtime = \"crun\"\n"
			if got := readFile(t, dest); got != want {
				t.Errorf("rendered %q, want %q", got, want)
			}
			wantStatus(t, run(t, k, x), OK)

			os.WriteFile(filepath.Join(x.BaseDir, "t.conf.tmpl"), []byte("runtime={{ vars.runtime | upper() }}\n"), 0o600)
			wantStatus(t, run(t, mustKind(t, `template: {src: t.conf.tmpl, dest: "`+dest+`"}`), x), Changed)
			if got := readFile(t, dest); got != "runtime=CRUN\n" {
				t.Errorf("rendered %q", got)
			}
			wantErr(t, run(t, mustKind(t, `template: {content: "{{ vars.nope.deeper }}", dest: "`+dest+`"}`), x), "template: rendering content")
		})
	}
}

// readOwner is uid:gid of p.
func readOwner(t *testing.T, p string) string {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return fmt.Sprintf("%d:%d", st.Uid, st.Gid)
}

// TestCopySensitive checks that a step carrying a secret keeps the
// content's checksums out of its data.
func TestCopySensitive(t *testing.T) {
	tg := targets(t)[0]
	x := newExec(t, tg.tr, false)
	x.Sensitive = true
	r := run(t, mustKind(t, `copy: {content: "password=hunter2\n", dest: "`+filepath.Join(tg.scratch(t), "creds")+`", mode: "0600"}`), x)
	wantStatus(t, r, Changed)
	for _, k := range []string{"sha256", "sha256_before", "sha256_after"} {
		if _, ok := r.Data[k]; ok {
			t.Errorf("data keeps %s: %v", k, r.Data)
		}
	}
	if strings.Contains(r.Command, "hunter2") {
		t.Errorf("command shows the content: %s", r.Command)
	}
}

func TestInstallScript(t *testing.T) {
	existing := remoteFile{Kind: "file", Mode: 0o640, UID: "0", GID: "4", User: "root", Group: "adm"}
	for _, tc := range []struct {
		name  string
		old   remoteFile
		attrs fileAttrs
		want  []string // lines the script must hold
		not   []string
	}{
		{"new file, defaults", remoteFile{Kind: "absent"}, fileAttrs{}, []string{"chmod 0644 \"$t\""}, []string{"chown", "chgrp"}},
		{"existing file keeps its attributes", existing, fileAttrs{}, []string{"chmod 0640 \"$t\"", "chown 0:4 \"$t\""}, nil},
		{"given attributes win", existing, fileAttrs{Mode: "0600", Owner: "crio", Group: "crio"}, []string{"chmod 0600 \"$t\"", "chown crio:crio \"$t\""}, []string{"0:4"}},
		{"group only on a new file", remoteFile{Kind: "absent"}, fileAttrs{Group: "adm"}, []string{"chgrp adm \"$t\""}, []string{"chown"}},
		{"a replaced symlink is a new file", remoteFile{Kind: "link"}, fileAttrs{}, []string{"chmod 0644"}, []string{"chown"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := installScript("/tmp/runbook-h.x/f", "/etc/crio/it's.conf", tc.old, tc.attrs)
			for _, w := range append(tc.want, `f='/etc/crio/it'\''s.conf'`, `t=$(mktemp "$f.rb-tmp-XXXXXX")`, "cat /tmp/runbook-h.x/f > \"$t\"", `mv -f "$t" "$f"`) {
				if !strings.Contains(s, w) {
					t.Errorf("script lacks %q:\n%s", w, s)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(s, n) {
					t.Errorf("script holds %q:\n%s", n, s)
				}
			}
		})
	}
}

func TestRemoteFileDifferences(t *testing.T) {
	f := remoteFile{Kind: "file", SHA256: "aa", Mode: 0o644, UID: "0", GID: "0", User: "root", Group: "root"}
	for _, tc := range []struct {
		sum  string
		a    fileAttrs
		want string
	}{
		{"aa", fileAttrs{}, ""},
		{"aa", fileAttrs{Mode: "644", Owner: "0", Group: "root"}, ""},
		{"bb", fileAttrs{}, "content"},
		{"aa", fileAttrs{Mode: "0600", Owner: "crio", Group: "1"}, "mode,owner,group"},
	} {
		if got := strings.Join(f.differences(tc.sum, tc.a), ","); got != tc.want {
			t.Errorf("%s %+v: %s, want %s", tc.sum, tc.a, got, tc.want)
		}
	}
	if got := (remoteFile{Kind: "absent"}).differences("aa", fileAttrs{}); strings.Join(got, ",") != "content" {
		t.Errorf("absent: %v", got)
	}
}
