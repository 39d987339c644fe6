package steps

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aymanbagabas/go-udiff"
)

// Bounds of the diffs a step reports: a larger file is reported as
// differing, and a longer diff is cut at a line boundary (the journal keeps
// a step's output to 64 KiB per stream as well).
const (
	maxDiffInput  = 1 << 20
	maxDiffOutput = 64 << 10
)

// fileDiff is the unified diff of the file at path from before to after,
// as `run --diff` shows it: "" when nothing differs. existed and exists
// say whether the file was there before and is after (a missing side is
// /dev/null, as diff -N shows it). Binary or very large content, and the
// content of a step that carries a secret, is reported as differing
// without showing it.
func fileDiff(x *Exec, path string, before, after []byte, existed, exists bool) string {
	if existed == exists && bytes.Equal(before, after) {
		return ""
	}
	from, to := path+" (before)", path+" (after)"
	if !existed {
		from = "/dev/null"
	}
	if !exists {
		to = "/dev/null"
	}
	switch {
	case x != nil && x.Sensitive:
		return diffNote(from, to, "content differs (not shown: the step carries a secret)")
	case len(before) > maxDiffInput || len(after) > maxDiffInput:
		return diffNote(from, to, fmt.Sprintf("content differs (%d -> %d bytes, too large to show)", len(before), len(after)))
	case isBinary(before) || isBinary(after):
		return diffNote(from, to, fmt.Sprintf("binary content differs (%d -> %d bytes)", len(before), len(after)))
	}
	d := udiff.Unified(from, to, string(before), string(after))
	if d == "" { // only existence differs: an empty file made or removed
		return diffNote(from, to, "empty file")
	}
	return capDiff(d)
}

// textDiff is the unified diff of two descriptions of one thing (the
// attributes of a path, say), labelled before and after.
func textDiff(label, before, after string) string {
	return capDiff(udiff.Unified(label+" (before)", label+" (after)", before, after))
}

func diffNote(from, to, note string) string {
	return "--- " + from + "\n+++ " + to + "\n# " + note + "\n"
}

func isBinary(b []byte) bool {
	return bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b)
}

// capDiff cuts d after maxDiffOutput bytes, at a line boundary.
func capDiff(d string) string {
	if len(d) <= maxDiffOutput {
		return d
	}
	cut := strings.LastIndexByte(d[:maxDiffOutput], '\n') + 1
	return d[:cut] + fmt.Sprintf("# diff cut here: %d more bytes\n", len(d)-cut)
}
