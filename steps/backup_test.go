package steps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// backupTargets are the targets that may write under BackupRoot; each
// test's run directory there is removed when it ends.
func backupTargets(t *testing.T) []target {
	var out []target
	for _, tg := range targets(t) {
		if tg.become || isRoot() {
			out = append(out, tg)
		}
	}
	if len(out) == 0 {
		t.Skip("backups need root or sudo to write under " + BackupRoot)
	}
	return out
}

func cleanBackups(t *testing.T, x *Exec) {
	t.Cleanup(func() { os.RemoveAll(filepath.Join(BackupRoot, x.RunID)) })
}

func TestBackupAndRestore(t *testing.T) {
	for _, tg := range backupTargets(t) {
		t.Run(tg.name, func(t *testing.T) {
			dir := tg.scratch(t)
			x := newExec(t, tg.tr, tg.become)
			cleanBackups(t, x)
			conf := filepath.Join(dir, "crio")
			os.MkdirAll(filepath.Join(conf, "crio.conf.d"), 0o755)
			os.WriteFile(filepath.Join(conf, "crio.conf.d", "10-crio.conf"), []byte("runtime=runc\n"), 0o640)
			os.Symlink("crio.conf.d/10-crio.conf", filepath.Join(conf, "link"))
			list := filepath.Join(dir, "cri-o.list")
			os.WriteFile(list, []byte("deb v1.29 /\n"), 0o644)

			r := run(t, mustKind(t, `backup: {name: crio, paths: ["`+conf+`", "`+list+`"]}`), x)
			wantStatus(t, r, Changed)
			remote := BackupRoot + "/" + x.RunID + "/host1/crio.tar.gz"
			local := filepath.Join(x.RunDir, "backups", "host1", "crio.tar.gz")
			if r.Data["remote"] != remote || r.Data["local"] != local || !isSHA256(r.Data["sha256"].(string)) {
				t.Fatalf("data %v", r.Data)
			}
			sum, size, err := fileSHA256(remote)
			if err != nil || sum != r.Data["sha256"] || size != r.Data["size"] {
				t.Errorf("host copy: %s %d %v, data %v", sum, size, err, r.Data)
			}
			if lsum, _, _ := fileSHA256(local); lsum != sum {
				t.Errorf("local copy sha256 %s, want %s", lsum, sum)
			}
			if m := fileMode(t, local); m != 0o600 {
				t.Errorf("local copy mode %v", m)
			}
			if m := fileMode(t, filepath.Dir(remote)); m.Perm() != 0o700 {
				t.Errorf("host backup dir mode %v", m)
			}

			// The upgrade changes things; restore puts them back.
			os.WriteFile(filepath.Join(conf, "crio.conf.d", "10-crio.conf"), []byte("runtime=crun\n"), 0o644)
			os.WriteFile(list, []byte("deb v1.30 /\n"), 0o644)
			os.Remove(filepath.Join(conf, "link"))
			restore := mustKind(t, `restore: crio`)
			r = run(t, restore, x)
			wantStatus(t, r, Changed)
			if r.Data["source"] != "host" {
				t.Errorf("source %v, want host", r.Data["source"])
			}
			checkRestored := func() {
				t.Helper()
				if got := readFile(t, filepath.Join(conf, "crio.conf.d", "10-crio.conf")); got != "runtime=runc\n" {
					t.Errorf("10-crio.conf = %q", got)
				}
				if m := fileMode(t, filepath.Join(conf, "crio.conf.d", "10-crio.conf")); m != 0o640 {
					t.Errorf("10-crio.conf mode %v, want 0640", m)
				}
				if got := readFile(t, list); got != "deb v1.29 /\n" {
					t.Errorf("cri-o.list = %q", got)
				}
				if dest, err := os.Readlink(filepath.Join(conf, "link")); err != nil || dest != "crio.conf.d/10-crio.conf" {
					t.Errorf("symlink: %q %v", dest, err)
				}
			}
			checkRestored()

			// The host copy is gone: the controller's copy goes back up.
			os.Remove(remote)
			os.WriteFile(list, []byte("deb v1.30 /\n"), 0o644)
			r = run(t, restore, x)
			wantStatus(t, r, Changed)
			if r.Data["source"] != "controller" || r.Data["host_copy"] != "absent" {
				t.Errorf("data %v", r.Data)
			}
			checkRestored()
			if s, _, _ := fileSHA256(remote); s != sum {
				t.Errorf("host copy not put back: %s", s)
			}

			// The host copy differs: the controller's copy replaces it.
			os.WriteFile(remote, []byte("tampered"), 0o600)
			r = run(t, restore, x)
			wantStatus(t, r, Changed)
			if !strings.HasPrefix(r.Data["host_copy"].(string), "sha256 ") {
				t.Errorf("data %v", r.Data)
			}

			// Both differ: refused, naming both sums.
			os.WriteFile(remote, []byte("tampered"), 0o600)
			os.WriteFile(local, []byte("also tampered"), 0o600)
			wantErr(t, run(t, restore, x), "refusing the controller's copy", sha256Hex([]byte("also tampered")), sum)
		})
	}
}

func TestBackupMissingPaths(t *testing.T) {
	for _, tg := range backupTargets(t) {
		t.Run(tg.name, func(t *testing.T) {
			dir := tg.scratch(t)
			x := newExec(t, tg.tr, tg.become)
			cleanBackups(t, x)
			have := filepath.Join(dir, "have")
			os.WriteFile(have, []byte("x"), 0o644)
			r := run(t, mustKind(t, `backup: {name: b, paths: ["`+have+`", "`+dir+`/gone"]}`), x)
			wantErr(t, r, "backup b: not on the host: "+dir+"/gone", "missing: ignore")
			if _, ok := r.Data["backup"]; ok {
				t.Error("a failed backup must not be recorded for restore")
			}
			r = run(t, mustKind(t, `backup: {name: b, paths: ["`+have+`", "`+dir+`/gone"], missing: ignore}`), x)
			wantStatus(t, r, Changed)
			if m, _ := r.Data["missing"].([]string); len(m) != 1 || m[0] != dir+"/gone" {
				t.Errorf("missing %v", r.Data["missing"])
			}
			// Nothing there at all still makes an (empty) archive.
			wantStatus(t, run(t, mustKind(t, `backup: {name: none, paths: ["`+dir+`/gone"], missing: ignore}`), x), Changed)
		})
	}
}

func TestRestoreUnknownBackup(t *testing.T) {
	x := newExec(t, &fakeT{}, false)
	wantErr(t, run(t, mustKind(t, `restore: nope`), x), `no backup named "nope" was taken on host1`)
}

func TestBackupScript(t *testing.T) {
	s := backupScript("/var/backups/runbook/R/h1", "/var/backups/runbook/R/h1/crio.tar.gz", []string{"etc/crio", "etc/it's"}, true)
	for _, w := range []string{
		"umask 077", "mkdir -p /var/backups/runbook/R/h1", "chmod 0700 /var/backups/runbook /var/backups/runbook/R /var/backups/runbook/R/h1",
		`for p in etc/crio 'etc/it'\''s'; do`, `[ -z "$missing" ] || exit 3`, `tar -czf "$f.tmp" -C / -T /dev/null "$@"`, `mv -f "$f.tmp" "$f"`,
	} {
		if !strings.Contains(s, w) {
			t.Errorf("script lacks %q:\n%s", w, s)
		}
	}
	if s := backupScript("/d", "/d/f", []string{"etc"}, false); strings.Contains(s, "exit 3") {
		t.Errorf("missing: ignore must not stop:\n%s", s)
	}
}

// TestBackupFromData checks that only a verified backup's data makes a
// record for restore: not a failed backup's, nor a restore's own.
func TestBackupFromData(t *testing.T) {
	good := map[string]any{"backup": "crio", "remote": "/r", "local": "/l", "sha256": "ab"}
	if name, rec, ok := BackupFromData(good); !ok || name != "crio" || rec != (BackupRecord{Remote: "/r", Local: "/l", SHA256: "ab"}) {
		t.Errorf("good data: %q %+v %v", name, rec, ok)
	}
	for _, d := range []map[string]any{
		nil,
		{"name": "crio", "remote": "/r", "paths": []string{"/etc/crio"}}, // a failed backup
		{"restored": "crio", "remote": "/r", "sha256": "ab"},             // a restore
		{"backup": "crio", "remote": "/r", "sha256": "ab"},
	} {
		if _, _, ok := BackupFromData(d); ok {
			t.Errorf("%v made a backup record", d)
		}
	}
}
