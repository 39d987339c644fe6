package steps

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestFetch(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			dir := tg.scratch(t)
			x := newExec(t, tg.tr, tg.become)
			content := bytes.Repeat([]byte("crio\x00\xff\n"), 50000) // binary, and more than one SFTP packet
			src := filepath.Join(dir, "crio.conf")
			if err := os.WriteFile(src, content, 0o644); err != nil {
				t.Fatal(err)
			}
			r := run(t, mustKind(t, `fetch: {src: "`+src+`", dest: conf/crio.conf}`), x)
			wantStatus(t, r, OK)
			local := filepath.Join(x.RunDir, "fetched", "host1", "conf", "crio.conf")
			if r.Data["dest"] != local || r.Data["sha256"] != sha256Hex(content) || r.Data["size"] != int64(len(content)) {
				t.Errorf("data %v", r.Data)
			}
			if got, _ := os.ReadFile(local); !bytes.Equal(got, content) {
				t.Errorf("fetched %d bytes, want %d", len(got), len(content))
			}
			if m := fileMode(t, local); m != 0o600 {
				t.Errorf("fetched file mode %v, want 0600", m)
			}
			for _, d := range []string{filepath.Join(x.RunDir, "fetched", "host1"), filepath.Join(x.RunDir, "fetched", "host1", "conf")} {
				if m := fileMode(t, d); m.Perm() != 0o700 {
					t.Errorf("%s mode %v, want 0700", d, m)
				}
			}
			if parts, _ := filepath.Glob(local + ".part"); len(parts) > 0 {
				t.Errorf("left %v", parts)
			}

			// Default dest: src without its leading /.
			r = run(t, mustKind(t, `fetch: {src: "`+src+`"}`), x)
			wantStatus(t, r, OK)
			if want := filepath.Join(x.RunDir, "fetched", "host1", src[1:]); r.Data["dest"] != want {
				t.Errorf("dest %v, want %s", r.Data["dest"], want)
			}

			if tg.become && isRoot() {
				// Only root may read it: over SSH as the login user, SFTP
				// fails and cat through become sends it.
				secret := filepath.Join(dir, "secret")
				os.WriteFile(secret, []byte("token=1\n"), 0o600)
				os.Chown(secret, 0, 0)
				r = run(t, mustKind(t, `fetch: {src: "`+secret+`", dest: secret}`), x)
				wantStatus(t, r, OK)
				if got := readFile(t, filepath.Join(x.RunDir, "fetched", "host1", "secret")); got != "token=1\n" {
					t.Errorf("fetched %q (via %v)", got, r.Data["via"])
				}
				t.Logf("root-only file came via %v", r.Data["via"])
			}

			wantErr(t, run(t, mustKind(t, `fetch: {src: "`+dir+`/missing"}`), x), "fetch: downloading "+dir+"/missing")
			wantErr(t, run(t, &Fetch{Src: src, Dest: "../../escape"}, x), "must be a relative file path")
		})
	}
}

// TestFetchStaysInside checks that a symlink planted in the run directory
// cannot lead a fetch out of it.
func TestFetchStaysInside(t *testing.T) {
	tg := targets(t)[0]
	x := newExec(t, tg.tr, false)
	src := filepath.Join(t.TempDir(), "f")
	os.WriteFile(src, []byte("x"), 0o644)
	outside := t.TempDir()
	hostDir := filepath.Join(x.RunDir, "fetched", "host1")
	os.MkdirAll(hostDir, 0o700)
	if err := os.Symlink(outside, filepath.Join(hostDir, "link")); err != nil {
		t.Fatal(err)
	}
	r := run(t, mustKind(t, `fetch: {src: "`+src+`", dest: link/f}`), x)
	wantStatus(t, r, Failed)
	if entries, _ := os.ReadDir(outside); len(entries) > 0 {
		t.Errorf("fetch wrote outside the run directory: %v", entries)
	}
}
