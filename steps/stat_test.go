package steps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStat(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			dir := tg.scratch(t)
			x := newExec(t, tg.tr, tg.become)
			f := filepath.Join(dir, "crio.conf")
			if err := os.WriteFile(f, []byte("[crio]\n"), 0o640); err != nil {
				t.Fatal(err)
			}
			mtime := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
			os.Chtimes(f, mtime, mtime)
			link := filepath.Join(dir, "link")
			os.Symlink(f, link)

			r := predict(t, mustKind(t, `stat: "`+f+`"`), x, dir)
			wantStatus(t, r, OK)
			want := map[string]any{"exists": true, "type": "file", "mode": "0640", "size": int64(7),
				"mtime": mtime.Unix(), "sha256": sha256Hex([]byte("[crio]\n")), "owner": readOwnerName(t, f)}
			for k, v := range want {
				if r.Data[k] != v {
					t.Errorf("%s = %#v, want %#v", k, r.Data[k], v)
				}
			}

			r = run(t, mustKind(t, `stat: {path: "`+link+`"}`), x)
			wantStatus(t, r, OK)
			if r.Data["type"] != "link" || r.Data["link_target"] != f || r.Data["sha256"] != nil {
				t.Errorf("link: %v", r.Data)
			}
			r = run(t, mustKind(t, `stat: {path: "`+link+`", follow: true, checksum: false}`), x)
			if r.Data["type"] != "file" || r.Data["sha256"] != nil || r.Data["link_target"] != nil {
				t.Errorf("followed link: %v", r.Data)
			}
			r = run(t, mustKind(t, `stat: "`+dir+`"`), x)
			if r.Data["type"] != "directory" || r.Data["sha256"] != nil {
				t.Errorf("directory: %v", r.Data)
			}

			r = run(t, mustKind(t, `stat: "`+dir+`/missing"`), x)
			wantStatus(t, r, OK)
			if r.Data["exists"] != false || len(r.Data) != 2 {
				t.Errorf("missing: %v", r.Data)
			}
			os.Symlink(filepath.Join(dir, "nothing"), filepath.Join(dir, "dangling"))
			if r := run(t, mustKind(t, `stat: "`+dir+`/dangling"`), x); r.Data["type"] != "link" {
				t.Errorf("a dangling link exists as a link: %v", r.Data)
			}
			if r := run(t, mustKind(t, `stat: {path: "`+dir+`/dangling", follow: true}`), x); r.Data["exists"] != false {
				t.Errorf("a dangling link followed is nothing: %v", r.Data)
			}
		})
	}
	if _, err := parseStep(t, `stat: etc/hosts`); err == nil || !strings.Contains(err.Error(), `t.yaml:7:15: stat: path "etc/hosts" must be absolute`) {
		t.Errorf("relative path: %v", err)
	}
}

// readOwnerName is the user name owning p.
func readOwnerName(t *testing.T, p string) string {
	t.Helper()
	uid, _, _ := strings.Cut(readOwner(t, p), ":")
	u, err := userByID(uid)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
