package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

// treeOf describes every entry under dir (path, mode, size, modification
// time, content checksum), to compare a directory before and after a run:
// a file written back unchanged, or a temporary file made and removed in
// a directory, changes a time.
func treeOf(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %v %d %d", p, fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, " %x", sha256.Sum256(data))
		}
		b.WriteString("\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// chownLike gives path the owner and group of dir.
func chownLike(t *testing.T, path, dir string) {
	t.Helper()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
		if err := os.Chown(path, int(st.Uid), int(st.Gid)); err != nil {
			t.Fatal(err)
		}
	}
}

// checkRunbook edits each host's config files (copy, lineinfile, toml,
// file), with a shell step between them and a secret param; on_start
// fails, on_finish posts to a webhook.
func checkRunbook(t *testing.T, work, webhook string) string {
	t.Helper()
	src := fmt.Sprintf(`runbook: e2e-check
targets: fleet
become: false
params:
  token: {secret: true, default: s3cr3t-t0ken}
hooks:
  on_start:
    - {name: open a ticket, shell: exit 3}
  on_finish:
    - notify_webhook: {url: "%[2]s", text: "{{ hook.summary }}"}
phases:
  - name: Check
    kind: check
    steps:
      - shell: cat %[1]s/{{ host.name }}.version 2>/dev/null || echo 1
        register: v
  - name: Canary
    kind: canary
    hosts: 1
    steps: &change
      - name: config
        copy: {dest: "%[1]s/{{ host.name }}.conf", content: "port = 2\n"}
      - name: version
        shell: echo 2 > %[1]s/{{ host.name }}.version
        register: bumped
      - name: limits
        lineinfile: {path: "%[1]s/{{ host.name }}.limits", regexp: '^nofile', line: "nofile 4096", create: true}
      - name: runtime
        toml: {path: "%[1]s/{{ host.name }}.toml", set: {"crio.runtime.default_runtime": "crun"}, create: true}
      - name: secret
        copy: {dest: "%[1]s/{{ host.name }}.secret", content: "token={{ params.token }}\n", mode: "0600"}
      - name: after bump
        log: "now {{ bumped.stdout }}"
      - name: cache dir
        file: {path: "%[1]s/{{ host.name }}.d", state: directory}
  - name: Roll out
    kind: batch
    serial: [2]
    steps: *change
`, work, webhook)
	path := filepath.Join(t.TempDir(), "check.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// run --check --diff over real sshd changes nothing (the hosts' files and
// locks are as they were), says what would change with diffs, journals it
// as a dry run, and posts no notification; the same run without --check
// then changes what the dry run said and journals its diffs.
func TestSSHDryRunChangesNothing(t *testing.T) {
	inv, work := sshFleet(t, 3)
	var mu sync.Mutex
	var posts []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		posts = append(posts, string(b))
		mu.Unlock()
	}))
	defer hook.Close()
	rb := checkRunbook(t, work, hook.URL)
	for name, content := range map[string]string{
		"host1.conf": "port = 1\n", "host2.conf": "port = 2\n",
		"host1.toml":   "# runtime\n[crio.runtime]\ndefault_runtime = \"runc\"\n",
		"host2.toml":   "[crio.runtime]\ndefault_runtime = \"crun\"\n",
		"host1.limits": "core 0\nnofile 1024\n",
	} {
		if err := os.WriteFile(filepath.Join(work, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		chownLike(t, filepath.Join(work, name), work) // the hosts' user's files, as it would find them
	}
	before := treeOf(t, work)
	state := t.TempDir()
	code, out, errOut := runCLI(t, "--state-dir", state, "run", rb, "-i", inv, "--check", "--diff")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if after := treeOf(t, work); after != before {
		t.Errorf("the dry run changed the hosts' files:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	for i := 1; i <= 3; i++ {
		if _, err := os.Stat(filepath.Join(work, fmt.Sprintf("host%d.lock", i))); err == nil {
			t.Errorf("the dry run left host%d's lock", i)
		}
	}
	mu.Lock()
	if len(posts) != 0 {
		t.Errorf("the dry run posted %q", posts)
	}
	mu.Unlock()
	for _, want := range []string{
		"DRY RUN  dry run (run --check)",
		"steps/1 config  would change",
		"    -port = 1\n    +port = 2\n",
		"    -default_runtime = \"runc\"\n    +default_runtime = \"crun\"\n",
		"    -nofile 1024\n    +nofile 4096\n",
		"steps/2 version  skipped",
		"dry run: shell cannot predict its effect",
		"steps/6 after bump  skipped",
		"unknown value: {{ bumped.stdout }} reads bumped",
		"the step carries a secret",
		"DRY RUN SUCCEEDED",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "s3cr3t-t0ken") {
		t.Error("the output shows the secret")
	}
	ids, _ := journal.ListRuns(state)
	log, err := journal.ReadFile(filepath.Join(journal.RunDir(state, ids[0]), journal.JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	diffs := 0
	for _, r := range log.Records {
		switch {
		case r.Type == journal.RunStarted && !r.DryRun:
			t.Error("run_started does not say dry run")
		case r.Type == journal.LockAcquired:
			t.Errorf("the dry run took %s's lock", r.Host)
		case r.Type == journal.StepFinished && r.Diff != "":
			diffs++
		}
	}
	// host1: config, limits, runtime, secret, cache dir; host2: limits,
	// secret, cache dir; host3: all five.
	if diffs != 13 {
		t.Errorf("%d steps journaled a diff, want 13", diffs)
	}
	raw, _ := os.ReadFile(filepath.Join(journal.RunDir(state, ids[0]), journal.JournalFile))
	if strings.Contains(string(raw), "s3cr3t-t0ken") {
		t.Error("the journal holds the secret")
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"show", ids[0]}, []string{"DRY RUN SUCCEEDED", "Diffs\n", "    -port = 1\n"}},
		{[]string{"runs"}, []string{"succeeded (dry run)"}},
		{[]string{"show", ids[0], "--host", "host1"}, []string{"would change", "  diff:\n    --- ", "    -nofile 1024\n",
			"  skipped:\n    dry run: shell cannot predict its effect\n"}},
		{[]string{"show", ids[0], "--format", "html"}, []string{`<span class="badge dry">dry run</span>`,
			`<span class="df-del">-default_runtime = &#34;runc&#34;</span>`, `<p class="why">dry run: shell cannot predict its effect</p>`}},
	} {
		code, got, _ := runCLI(t, append([]string{"--state-dir", state}, tc.args...)...)
		for _, want := range tc.want {
			if code != 0 || !strings.Contains(got, want) {
				t.Errorf("%v: exit %d, want %q in:\n%s", tc.args, code, want, got)
			}
		}
		if strings.Contains(got, "s3cr3t-t0ken") {
			t.Errorf("%v shows the secret", tc.args)
		}
	}

	// For real: the change the dry run described, with its diffs. Not on
	// host1: the steps package's tests count the staging directories named
	// after a host1 of their own in the shared temporary directory.
	code, out, errOut = runCLI(t, "--state-dir", state, "run", rb, "-i", inv, "--diff", "--limit", "host2:host3")
	if code != 0 {
		t.Fatalf("the run: exit %d\n%s\n%s", code, out, errOut)
	}
	for i := 1; i <= 3; i++ {
		b, _ := os.ReadFile(filepath.Join(work, fmt.Sprintf("host%d.conf", i)))
		toml, _ := os.ReadFile(filepath.Join(work, fmt.Sprintf("host%d.toml", i)))
		changed := string(b) == "port = 2\n" && strings.Contains(string(toml), `default_runtime = "crun"`)
		if changed != (i > 1) {
			t.Errorf("host%d after the run (changed %v): conf %q, toml %q", i, changed, b, toml)
		}
	}
	if !strings.Contains(out, "host3     steps/1 config  changed") || !strings.Contains(out, "    +port = 2\n") ||
		!strings.Contains(out, "host2     steps/1 config  ok") {
		t.Errorf("the run's output lacks its diffs:\n%s", out)
	}
	// The failing on_start hook: warned about, and the run went on.
	if !strings.Contains(out, `warning: hook on_start failed at "open a ticket"`) ||
		!strings.Contains(out, "! hook on_start/1 open a ticket failed and the run went on without it") {
		t.Errorf("the run's output does not warn of the failed hook:\n%s", out)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(posts) != 1 || !strings.Contains(posts[0], "succeeded") {
		t.Errorf("on_finish posted %q", posts)
	}
}

// run --check --diff of the safe upgrade on the lab changes no node (its
// packages, services, pods, cordons, files) and takes no lock, and says
// what the run would do: the runtime pin's diff, the drains.
func TestLabDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	e := newLabEnv(t, repoFile("inventories/lab.yaml"))
	before := e.status()
	const files = "find /etc/crio /etc/apt/sources.list.d /var/lib/runbook -type f 2>/dev/null | sort | while read -r f; do echo \"== $f\"; cat \"$f\"; done"
	beforeFiles := map[string]string{}
	for _, w := range workers() {
		if beforeFiles[w] = e.sh(w, files); !strings.Contains(beforeFiles[w], "== /etc/crio/crio.conf.d/10-crio.conf\n") {
			t.Fatalf("%s: the files compared are not there:\n%s", w, beforeFiles[w])
		}
	}
	code, out, errOut := e.run("run", repoFile("examples/crio-upgrade.yaml"), "-i", e.inv, "--check", "--diff")
	if code != 0 || !strings.Contains(out, "DRY RUN SUCCEEDED") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	// As JSON: times compare without the monotonic clock reading a
	// status made in this process carries.
	b1, _ := json.Marshal(before)
	if b2, _ := json.Marshal(e.status()); string(b1) != string(b2) {
		t.Errorf("the dry run changed the lab:\nbefore %s\nafter  %s", b1, b2)
	}
	for _, w := range workers() {
		got := e.sh(w, files)
		if got != beforeFiles[w] {
			t.Errorf("%s: the dry run changed files:\nbefore:\n%s\nafter:\n%s", w, beforeFiles[w], got)
		}
		if strings.Contains(got, "/var/lib/runbook/lock") {
			t.Errorf("%s holds a lock after the dry run", w)
		}
	}
	// apt predicts from the package lists as they are, without the
	// repository the step before it would switch to: its failure is
	// uncertain, not the host's.
	for _, want := range []string{"block/1 drain (on cp-1)  would change", "+++ /etc/crio/crio.conf.d/99-local.conf (after)",
		"+default_runtime = \"crun\"", "install cri-o 1.30.4-1.1  skipped", "dry run: cannot predict: would fail: apt: exit 100"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, r := range e.records() {
		if r.Type == journal.LockAcquired || r.Type == journal.Approval && r.Decision != "skipped" {
			t.Errorf("the dry run journaled %s %s %s", r.Type, r.Host, r.Decision)
		}
	}
}
