package steps

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAptRepositoryKeyPath(t *testing.T) {
	for _, tc := range []struct{ step, want string }{
		{`apt_repository: {name: cri-o, line: "deb [signed-by=/etc/apt/keyrings/cri-o-apt-keyring.gpg] https://x/ /", key_url: "https://x/Release.key"}`, "/etc/apt/keyrings/cri-o-apt-keyring.gpg"},
		{`apt_repository: {name: cri-o, line: "deb [arch=amd64 signed-by=/k.gpg] https://x/ /", key_url: "https://x/k"}`, "/k.gpg"},
		{`apt_repository: {name: cri-o, line: "deb https://x/ /", key_url: "https://x/k"}`, "/etc/apt/keyrings/cri-o.gpg"},
		{`apt_repository: {name: cri-o, line: "deb [signed-by=/k.gpg] https://x/ /", key_url: "https://x/k", key_path: /other.gpg}`, "/other.gpg"},
	} {
		if got := mustKind(t, tc.step).(*AptRepository).keyPath(); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.step, got, tc.want)
		}
	}
	x := &Exec{Timeout: 5 * time.Minute}
	if got, want := aptUpdateOneCommand("cri-o", x), "apt-get update -q -o DPkg::Lock::Timeout=270 -o 'Dir::Etc::sourcelist=sources.list.d/cri-o.list' -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0"; got != want {
		t.Errorf("update:\n got %s\nwant %s", got, want)
	}
}

// dearmor decodes an ASCII-armoured OpenPGP block.
func dearmor(t *testing.T, armored []byte) []byte {
	t.Helper()
	var body strings.Builder
	inBody := false
	for _, l := range strings.Split(string(armored), "\n") {
		switch {
		case strings.HasPrefix(l, "-----"):
		case !inBody:
			inBody = l == ""
		case !strings.HasPrefix(l, "="):
			body.WriteString(l)
		}
	}
	b, err := base64.StdEncoding.DecodeString(body.String())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAptRepositoryReal(t *testing.T) {
	repo := newTestRepo(t)
	key, err := os.ReadFile("testdata/repo-key.asc")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/Release.key" {
			http.NotFound(w, r)
			return
		}
		w.Write(key)
	}))
	defer srv.Close()

	name := fmt.Sprintf("runbook-steps-test-%d", time.Now().UnixNano())
	list := AptSourcesDir + "/" + name + ".list"
	t.Cleanup(func() { os.Remove(list) })
	keyPath := filepath.Join(t.TempDir(), "keyrings", name+".gpg")
	lists := filepath.Join(t.TempDir(), "lists")
	os.MkdirAll(filepath.Join(lists, "partial"), 0o755)
	conf := filepath.Join(t.TempDir(), "apt.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("Dir::State::Lists %q;\nDir::Cache %q;\nAPT::Sandbox::User \"root\";\n", lists, filepath.Join(repo.dir, "cache"))), 0o644)

	tgs := targets(t)
	tg := tgs[len(tgs)-1]
	x := newExec(t, tg.tr, tg.become)
	x.Env = map[string]string{"APT_CONFIG": conf}
	line := "deb [trusted=yes] file:" + repo.repo + " ./"
	step := func(l, extra string) Kind {
		return mustKind(t, `apt_repository: {name: `+name+`, line: "`+l+`", key_url: "`+srv.URL+`/Release.key", key_path: "`+keyPath+`"`+extra+`}`)
	}

	predict := func(k Kind) Result {
		t.Helper()
		ctx, cancel := contextWithTimeout(time.Minute)
		defer cancel()
		return k.(Predictor).Predict(ctx, x)
	}
	// Check mode: the change is told, with its diff, and not made.
	x.Diff = true
	p := predict(step(line, ", update_cache: true"))
	wantStatus(t, p, Changed)
	if !strings.Contains(p.Diff, "+"+line) || p.Data["key_fetched"] != false || p.Data["cache_update_withheld"] != true {
		t.Errorf("prediction: diff %q, data %v", p.Diff, p.Data)
	}
	for _, f := range []string{list, keyPath} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("the prediction made %s", f)
		}
	}
	x.Diff = false

	r := run(t, step(line, ", update_cache: true"), x)
	wantStatus(t, r, Changed)
	wantStatus(t, predict(step(line, ", update_cache: true")), OK)
	if got := readFile(t, list); got != line+"\n" {
		t.Errorf("%s holds %q", list, got)
	}
	if m := fileMode(t, list); m != 0o644 {
		t.Errorf("mode %v", m)
	}
	if r.Data["previous_exists"] != false || r.Data["previous_content"] != "" || r.Data["key_fetched"] != true {
		t.Errorf("data %v", r.Data)
	}
	if got, _ := os.ReadFile(keyPath); !bytes.Equal(got, dearmor(t, key)) {
		t.Errorf("key file holds %d bytes, not the de-armoured key", len(got))
	}
	if m, _ := filepath.Glob(filepath.Join(lists, "*_Packages*")); len(m) != 1 {
		all, _ := os.ReadDir(lists)
		t.Errorf("apt-get update for the one source left lists %v (all: %v)\n%s", m, all, x.Stdout.(*lockedBuffer).String())
	}

	wantStatus(t, run(t, step(line, ", update_cache: true"), x), OK)

	other := "deb [trusted=yes] file:" + repo.repo + "/ ./"
	r = run(t, step(other, ""), x)
	wantStatus(t, r, Changed)
	if r.Data["previous_exists"] != true || r.Data["previous_content"] != line+"\n" || r.Data["key_fetched"] != nil {
		t.Errorf("data %v", r.Data)
	}
	if got := readFile(t, list); got != other+"\n" {
		t.Errorf("%s holds %q", list, got)
	}

	// Rollback: the recorded content goes back.
	wantStatus(t, run(t, step(strings.TrimSuffix(r.Data["previous_content"].(string), "\n"), ""), x), Changed)
	if got := readFile(t, list); got != line+"\n" {
		t.Errorf("after rollback %s holds %q", list, got)
	}

	absent := mustKind(t, `apt_repository: {name: `+name+`, state: absent}`)
	x.Diff = true
	if p := predict(absent); p.Status != Changed || !strings.Contains(p.Diff, "-"+line) || readFile(t, list) != line+"\n" {
		t.Errorf("predicting the removal: %s, diff %q", p.Status, p.Diff)
	}
	x.Diff = false
	r = run(t, absent, x)
	wantStatus(t, r, Changed)
	if _, err := os.Stat(list); !os.IsNotExist(err) {
		t.Errorf("%s still there: %v", list, err)
	}
	if r.Data["previous_content"] != line+"\n" {
		t.Errorf("data %v", r.Data)
	}
	wantStatus(t, run(t, absent, x), OK)

	// A key that cannot be fetched fails the step and writes nothing.
	os.Remove(keyPath)
	bad := mustKind(t, `apt_repository: {name: `+name+`, line: "`+line+`", key_url: "`+srv.URL+`/missing.key", key_path: "`+keyPath+`"}`)
	wantErr(t, run(t, bad, x), "apt_repository: fetching the key", "404")
	if _, err := os.Stat(list); !os.IsNotExist(err) {
		t.Errorf("%s written although the key failed", list)
	}
}
