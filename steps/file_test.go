package steps

import (
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

func TestFileLoadErrors(t *testing.T) {
	for _, tc := range []struct{ step, want string }{
		{`file: {path: /x, state: link}`, "t.yaml:7:15: file: state: link needs src:"},
		{`file: {path: /x, state: gone}`, `t.yaml:7:33: file: state "gone": use file, directory, absent, link or touch`},
		{`file: {path: /x, state: absent, mode: "0644"}`, "file: state: absent takes no mode, owner or group"},
		{`file: {path: /x, src: /y}`, "file: src: goes with state: link"},
		{`file: {path: /x, recurse: true}`, "file: recurse: goes with state: directory"},
		{`file: {path: /x, state: link, src: /y, mode: "0644"}`, "file: a symbolic link has no mode of its own"},
		{`file: {path: /x, force: true}`, "file: force: goes with state: link"},
		{`file: {path: x}`, `file: path "x" must be an absolute path`},
		{`file: {path: /x, mode: rw}`, `file: mode "rw": write it in octal`},
	} {
		t.Run(tc.step, func(t *testing.T) {
			_, err := parseStep(t, tc.step)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to contain\n%s", err, tc.want)
			}
		})
	}
}

func TestFilePlan(t *testing.T) {
	dir := pathState{Kind: "dir", Mode: 0o755, UID: "0", GID: "0", User: "root", Group: "root"}
	file := pathState{Kind: "file", Mode: 0o644, UID: "0", GID: "0", User: "root", Group: "root"}
	for _, tc := range []struct {
		name    string
		f       File
		old     pathState
		script  string
		changes string
		err     string
	}{
		{"directory made", File{Path: "/d", State: "directory", Mode: "0750"}, pathState{Kind: "absent"}, "mkdir -p -- /d\nchmod -- 0750 /d", "created,mode", ""},
		{"directory right", File{Path: "/d", State: "directory", Mode: "755", Owner: "root"}, dir, "", "", ""},
		{"directory mode", File{Path: "/d", State: "directory", Mode: "0700"}, dir, "chmod -- 0700 /d", "mode", ""},
		{"recurse finds a difference below", File{Path: "/d", State: "directory", Mode: "0755", Recurse: true}, pathState{Kind: "dir", Mode: 0o755, RecurseDiffers: true}, "chmod -R -- 0755 /d", "mode", ""},
		{"a file in the directory's way", File{Path: "/d", State: "directory"}, file, "", "", "/d is a file, not a directory"},
		{"absent", File{Path: "/d", State: "absent"}, dir, "rm -rf -- /d", "removed", ""},
		{"absent already", File{Path: "/d", State: "absent"}, pathState{Kind: "absent"}, "", "", ""},
		{"file missing", File{Path: "/f"}, pathState{Kind: "absent"}, "", "", "/f does not exist (state: touch makes an empty file"},
		{"file owner and group", File{Path: "/f", Owner: "nobody", Group: "0"}, file, "chown -- nobody:0 /f", "owner", ""},
		{"file group only", File{Path: "/f", Group: "adm"}, file, "chgrp -- adm /f", "owner", ""},
		{"touch makes", File{Path: "/f", State: "touch", Mode: "0600"}, pathState{Kind: "absent"}, "touch -- /f\nchmod -- 0600 /f", "created,mode", ""},
		{"touch leaves an existing file", File{Path: "/f", State: "touch"}, file, "", "", ""},
		{"touch with no directory", File{Path: "/no/f", State: "touch"}, pathState{Kind: "absent", ParentMissing: true}, "", "", "directory of /no/f does not exist"},
		{"link made", File{Path: "/l", State: "link", Src: "/t"}, pathState{Kind: "absent"}, "ln -sfn -- /t /l", "link", ""},
		{"link right", File{Path: "/l", State: "link", Src: "/t"}, pathState{Kind: "link", Target: "/t", User: "root"}, "", "", ""},
		{"link retargeted", File{Path: "/l", State: "link", Src: "/u", Owner: "root"}, pathState{Kind: "link", Target: "/t", User: "root", UID: "0"}, "ln -sfn -- /u /l\nchown -h -- root /l", "link,owner", ""},
		{"link over a file needs force", File{Path: "/l", State: "link", Src: "/t"}, file, "", "", "/l is a file: force: true replaces it"},
		{"link over a file with force", File{Path: "/l", State: "link", Src: "/t", Force: true}, file, "ln -sfn -- /t /l", "link", ""},
		{"link never over a directory", File{Path: "/l", State: "link", Src: "/t", Force: true}, dir, "", "", "/l is a directory: it is not replaced by a link"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			script, changes, err := tc.f.plan(tc.old)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if script != tc.script || strings.Join(changes, ",") != tc.changes {
				t.Errorf("script %q changes %v, want %q %s", script, changes, tc.script, tc.changes)
			}
		})
	}
}

// ownerNames replaces the names of this process's user and group in a
// diff of file attributes, which differ from machine to machine.
func ownerNames(t *testing.T, diff string) string {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		t.Fatal(err)
	}
	diff = strings.ReplaceAll(diff, "owner: "+u.Username+"\n", "owner: USER\n")
	return strings.ReplaceAll(diff, "group: "+g.Name+"\n", "group: GROUP\n")
}

func TestFile(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			dir := tg.scratch(t)
			x := newExec(t, tg.tr, tg.become)
			x.Diff = true
			d := filepath.Join(dir, "conf.d")
			mk := mustKind(t, `file: {path: "`+d+`", state: directory, mode: "0750"}`)
			r := predict(t, mk, x, dir)
			wantStatus(t, r, Changed)
			golden(t, "file-directory.diff", dir, r.Diff)
			wantStatus(t, run(t, mk, x), Changed)
			if m := fileMode(t, d); m.Perm() != 0o750 || !m.IsDir() {
				t.Errorf("mode %v", m)
			}
			wantStatus(t, run(t, mk, x), OK)
			wantStatus(t, predict(t, mk, x, dir), OK)

			// recurse reaches what is below.
			os.WriteFile(filepath.Join(d, "a.conf"), []byte("x"), 0o600)
			rec := mustKind(t, `file: {path: "`+d+`", state: directory, mode: "0755", recurse: true}`)
			wantStatus(t, run(t, rec, x), Changed)
			if m := fileMode(t, filepath.Join(d, "a.conf")); m.Perm() != 0o755 {
				t.Errorf("recurse: a.conf has %v", m)
			}
			wantStatus(t, run(t, rec, x), OK)
			os.Chmod(filepath.Join(d, "a.conf"), 0o600)
			wantStatus(t, predict(t, rec, x, dir), Changed)

			// touch, then a link to it, then absent.
			f := filepath.Join(dir, "marker")
			touch := mustKind(t, `file: {path: "`+f+`", state: touch, mode: "0600"}`)
			wantStatus(t, run(t, touch, x), Changed)
			wantStatus(t, run(t, touch, x), OK)
			wantStatus(t, run(t, mustKind(t, `file: {path: "`+f+`", mode: "0600"}`), x), OK)

			l := filepath.Join(dir, "current")
			link := mustKind(t, `file: {path: "`+l+`", state: link, src: "`+f+`"}`)
			r = predict(t, link, x, dir)
			wantStatus(t, r, Changed)
			golden(t, "file-link.diff", dir, r.Diff)
			wantStatus(t, run(t, link, x), Changed)
			if target, err := os.Readlink(l); err != nil || target != f {
				t.Errorf("link: %q, %v", target, err)
			}
			wantStatus(t, run(t, link, x), OK)
			// state: file follows the link to the file.
			wantStatus(t, run(t, mustKind(t, `file: {path: "`+l+`", mode: "0600"}`), x), OK)
			wantErr(t, run(t, mustKind(t, `file: {path: "`+f+`", state: link, src: /etc/hosts}`), x), "force: true replaces it")

			gone := mustKind(t, `file: {path: "`+d+`", state: absent}`)
			r = predict(t, gone, x, dir)
			wantStatus(t, r, Changed)
			golden(t, "file-absent.diff", dir, ownerNames(t, r.Diff))
			wantStatus(t, run(t, gone, x), Changed)
			if _, err := os.Stat(d); !os.IsNotExist(err) {
				t.Errorf("%s still there: %v", d, err)
			}
			wantStatus(t, run(t, gone, x), OK)
			wantErr(t, run(t, mustKind(t, `file: {path: "`+d+`/x"}`), x), "does not exist")
		})
	}
}

// userByID is the name of the user with uid.
func userByID(uid string) (string, error) {
	u, err := user.LookupId(uid)
	if err != nil {
		return "", err
	}
	return u.Username, nil
}
