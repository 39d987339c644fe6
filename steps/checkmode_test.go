package steps

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// predict runs k in check mode on x and fails the test when anything
// under dir changed, or when a staging directory was left in the
// temporary directory.
func predict(t *testing.T, k Kind, x *Exec, dir string) Result {
	t.Helper()
	p, ok := k.(Predictor)
	if !ok {
		t.Fatalf("%T cannot predict", k)
	}
	before, stagedBefore := treeState(t, dir), stagingDirs()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := p.Predict(ctx, x)
	if after := treeState(t, dir); after != before {
		t.Errorf("check mode changed %s:\nbefore:\n%s\nafter:\n%s", dir, before, after)
	}
	if left := leftStaging(stagedBefore); len(left) > 0 {
		t.Errorf("check mode left staging directories %v", left)
	}
	return r
}

// leftStaging returns the staging directories not in before that are
// still there after a while: another test process's staging (go test runs
// packages side by side) comes and goes, a leaked one stays.
func leftStaging(before map[string]bool) []string {
	var left []string
	for wait := 0; wait < 5; wait++ {
		left = left[:0]
		for name := range stagingDirs() {
			if !before[name] {
				left = append(left, name)
			}
		}
		if len(left) == 0 {
			return nil
		}
		time.Sleep(time.Second)
	}
	return left
}

// treeState describes every entry under dir: path, mode, owner and
// content checksum.
func treeState(t *testing.T, dir string) string {
	t.Helper()
	if dir == "" {
		return ""
	}
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %v %s", p, fi.Mode(), readOwner(t, p))
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, " %x", sha256.Sum256(data))
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			b.WriteString(" -> " + target)
		}
		b.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// stagingDirs lists the staging directories stage makes for host1.
func stagingDirs() map[string]bool {
	m, _ := filepath.Glob(filepath.Join(os.TempDir(), "runbook-host1.*"))
	set := make(map[string]bool, len(m))
	for _, name := range m {
		set[name] = true
	}
	return set
}

func TestCopyAndTemplateCheckMode(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			dir := tg.scratch(t)
			x := newExec(t, tg.tr, tg.become)
			x.Diff = true
			dest := filepath.Join(dir, "99-local.conf")
			k := mustKind(t, `copy: {content: "[crio.runtime]\ndefault_runtime = \"crun\"\n", dest: "`+dest+`", mode: "0644"}`)

			r := predict(t, k, x, dir)
			wantStatus(t, r, Changed)
			golden(t, "copy-new.diff", dir, r.Diff)
			if _, err := os.Stat(dest); err == nil {
				t.Fatal("check mode wrote the file")
			}

			wantStatus(t, run(t, k, x), Changed)
			r = predict(t, k, x, dir)
			wantStatus(t, r, OK)
			if r.Diff != "" {
				t.Errorf("a file that is right has a diff: %s", r.Diff)
			}

			x.Render = renderer(map[string]any{"vars": map[string]any{"runtime": "runc"}})
			tk := mustKind(t, `template: {content: "[crio.runtime]\ndefault_runtime = \"{{ vars.runtime }}\"\n", dest: "`+dest+`"}`)
			r = predict(t, tk, x, dir)
			wantStatus(t, r, Changed)
			golden(t, "template-change.diff", dir, r.Diff)

			r = run(t, tk, x)
			wantStatus(t, r, Changed)
			golden(t, "template-change.diff", dir, r.Diff) // Run shows the same diff
			if got := readFile(t, dest); !strings.Contains(got, `"runc"`) {
				t.Errorf("after run: %q", got)
			}

			// A mode change alone has no content diff.
			r = predict(t, mustKind(t, `copy: {content: "[crio.runtime]\ndefault_runtime = \"runc\"\n", dest: "`+dest+`", mode: "0600"}`), x, dir)
			wantStatus(t, r, Changed)
			if d, _ := r.Data["changes"].([]string); strings.Join(d, ",") != "mode" || r.Diff != "" {
				t.Errorf("changes %v, diff %q", r.Data["changes"], r.Diff)
			}

			// Without Diff asked for, no diff.
			x.Diff = false
			r = predict(t, k, x, dir)
			wantStatus(t, r, Changed)
			if r.Diff != "" {
				t.Errorf("diff without Exec.Diff: %s", r.Diff)
			}

			// What would fail fails in check mode too.
			wantErr(t, predict(t, mustKind(t, `copy: {content: x, dest: "`+dir+`/nope/x.conf"}`), x, dir), "does not exist on the host")
		})
	}
}

func TestFileDiff(t *testing.T) {
	secret := &Exec{Sensitive: true}
	for _, tc := range []struct {
		name            string
		x               *Exec
		before, after   string
		existed, exists bool
		want            string
	}{
		{"equal", nil, "a\n", "a\n", true, true, ""},
		{"changed line", nil, "a\nb\nc\n", "a\nB\nc\n", true, true, "--- /f (before)\n+++ /f (after)\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"},
		{"created", nil, "", "x\n", false, true, "--- /dev/null\n+++ /f (after)\n@@ -0,0 +1 @@\n+x\n"},
		{"removed", nil, "x\n", "", true, false, "--- /f (before)\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n"},
		{"empty file made", nil, "", "", false, true, "--- /dev/null\n+++ /f (after)\n# empty file\n"},
		{"no newline at the end", nil, "a", "b", true, true, "--- /f (before)\n+++ /f (after)\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+b\n\\ No newline at end of file\n"},
		{"binary", nil, "a\x00b", "a\x00c", true, true, "--- /f (before)\n+++ /f (after)\n# binary content differs (3 -> 3 bytes)\n"},
		{"secret", secret, "pw=1\n", "pw=2\n", true, true, "--- /f (before)\n+++ /f (after)\n# content differs (not shown: the step carries a secret)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fileDiff(tc.x, "/f", []byte(tc.before), []byte(tc.after), tc.existed, tc.exists); got != tc.want {
				t.Errorf("got:\n%q\nwant:\n%q", got, tc.want)
			}
		})
	}
	big := strings.Repeat("line\n", maxDiffOutput)
	got := fileDiff(nil, "/f", nil, []byte(big), false, true)
	if len(got) > maxDiffOutput+100 || !strings.Contains(got, "# diff cut here:") {
		t.Errorf("a long diff is not cut: %d bytes, ends %q", len(got), got[len(got)-60:])
	}
}
