package udiff

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// apply rebuilds both texts from an edit script.
func apply(ops []op) (a, b string) {
	var as, bs strings.Builder
	for _, o := range ops {
		if o.kind != '+' {
			as.WriteString(o.text)
		}
		if o.kind != '-' {
			bs.WriteString(o.text)
		}
	}
	return as.String(), bs.String()
}

func edits(ops []op) int {
	n := 0
	for _, o := range ops {
		if o.kind != ' ' {
			n++
		}
	}
	return n
}

func TestUnifiedExamples(t *testing.T) {
	for _, tc := range []struct {
		name, a, b, want string
	}{
		{"equal", "x\n", "x\n", ""},
		{"one changed line", "a\nb\nc\n", "a\nB\nc\n", "--- before\n+++ after\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"},
		{"added at end", "a\n", "a\nb\n", "--- before\n+++ after\n@@ -1 +1,2 @@\n a\n+b\n"},
		{"from empty", "", "a\n", "--- before\n+++ after\n@@ -0,0 +1 @@\n+a\n"},
		{"no newline", "a", "a\n", "--- before\n+++ after\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+a\n"},
		{"two hunks", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "1\nX\n3\n4\n5\n6\n7\n8\nY\n10\n",
			"--- before\n+++ after\n@@ -1,3 +1,3 @@\n 1\n-2\n+X\n 3\n@@ -8,3 +8,3 @@\n 8\n-9\n+Y\n 10\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Unified("before", "after", tc.a, tc.b, 1); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// TestDiffRandom checks that every edit script rebuilds both texts and is
// no longer than the one diff(1) finds.
func TestDiffRandom(t *testing.T) {
	diffBin, _ := exec.LookPath("diff")
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"a\n", "b\n", "c\n", "d\n", "e\n"}
	gen := func() string {
		var s strings.Builder
		for range r.IntN(30) {
			s.WriteString(words[r.IntN(len(words))])
		}
		return s.String()
	}
	dir := t.TempDir()
	for i := range 300 {
		a, b := gen(), gen()
		ops := diff(split(a), split(b))
		if ga, gb := apply(ops); ga != a || gb != b {
			t.Fatalf("case %d: script does not rebuild the texts:\n%q -> %q\ngot %q -> %q", i, a, b, ga, gb)
		}
		if diffBin == "" || i%10 != 0 {
			continue
		}
		fa, fb := filepath.Join(dir, "a"), filepath.Join(dir, "b")
		os.WriteFile(fa, []byte(a), 0o600)
		os.WriteFile(fb, []byte(b), 0o600)
		out, _ := exec.Command(diffBin, "-d", "-U0", fa, fb).Output()
		theirs := 0
		for _, l := range strings.Split(string(out), "\n") {
			if (strings.HasPrefix(l, "+") || strings.HasPrefix(l, "-")) && !strings.HasPrefix(l, "+++") && !strings.HasPrefix(l, "---") {
				theirs++
			}
		}
		if edits(ops) > theirs {
			t.Errorf("case %d: %d edits, diff -d finds %d", i, edits(ops), theirs)
		}
	}
}

// TestDiffBeyondLimit checks that texts further apart than maxEdits still
// give a correct script.
func TestDiffBeyondLimit(t *testing.T) {
	var a, b strings.Builder
	for i := range maxEdits {
		a.WriteString("a" + strings.Repeat("x", i%7) + "\n")
		b.WriteString("b" + strings.Repeat("y", i%5) + "\n")
	}
	ops := diff(split("same\n"+a.String()), split("same\n"+b.String()))
	if ga, gb := apply(ops); ga != "same\n"+a.String() || gb != "same\n"+b.String() {
		t.Fatal("script does not rebuild the texts")
	}
	if ops[0] != (op{' ', "same\n"}) {
		t.Errorf("common head lost: %v", ops[0])
	}
}

func BenchmarkUnified(b *testing.B) {
	var x, y strings.Builder
	for i := range 5000 {
		x.WriteString(strings.Repeat("line ", i%9) + "\n")
		if i%100 == 0 {
			y.WriteString("changed\n")
		} else {
			y.WriteString(strings.Repeat("line ", i%9) + "\n")
		}
	}
	for b.Loop() {
		Unified("a", "b", x.String(), y.String(), 3)
	}
}
