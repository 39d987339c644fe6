// Package udiff writes the difference between two texts as a unified
// diff (the format of `diff -u`), for messages an operator reads.
package udiff

import (
	"fmt"
	"strings"
)

// maxEdits bounds the shortest-edit search (its memory grows with the
// square of the edits): texts further apart than this are shown as one
// change replacing every line between their common head and tail, still a
// correct diff, only not the shortest.
const maxEdits = 1000

// op is one line of an edit script.
type op struct {
	kind byte // ' ', '-' or '+'
	text string
}

// Unified returns the unified diff turning a into b, with context lines
// of context around each change, under the headers --- aName and +++
// bName; "" when a and b are equal. A last line without a newline gets
// the marker line diff prints for it.
func Unified(aName, bName, a, b string, context int) string {
	if a == b {
		return ""
	}
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", aName, bName)
	writeHunks(&out, diff(split(a), split(b)), max(context, 0))
	return out.String()
}

// split cuts s into lines, each keeping its newline; a last line without
// one carries the marker.
func split(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		return lines[:len(lines)-1]
	}
	lines[len(lines)-1] += "\n\\ No newline at end of file\n"
	return lines
}

// diff returns an edit script from a to b: the common head and tail kept,
// the middle by Myers' shortest-edit algorithm.
func diff(a, b []string) []op {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ops := make([]op, 0, len(a)+len(b)-pre-suf)
	for _, l := range a[:pre] {
		ops = append(ops, op{' ', l})
	}
	ops = append(ops, myers(a[pre:len(a)-suf], b[pre:len(b)-suf])...)
	for _, l := range a[len(a)-suf:] {
		ops = append(ops, op{' ', l})
	}
	return ops
}

// myers is Myers' O((N+M)D) algorithm. Round d keeps the frontier it
// started from (the furthest x on each diagonal k after d-1 edits), so the
// path can be walked back from (N, M).
func myers(a, b []string) []op {
	n, m := len(a), len(b)
	limit := min(n+m, maxEdits)
	off := limit + 1
	v := make([]int32, 2*limit+3)
	var trace [][]int32 // trace[d][k+d+1] = v[k] at the start of round d
	for d := 0; d <= limit; d++ {
		trace = append(trace, append([]int32(nil), v[off-d-1:off+d+2]...))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = int(v[off+k+1]) // down: an insertion
			} else {
				x = int(v[off+k-1]) + 1 // right: a deletion
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x, y = x+1, y+1
			}
			v[off+k] = int32(x)
			if x >= n && y >= m {
				return backtrack(a, b, trace)
			}
		}
	}
	ops := make([]op, 0, n+m)
	for _, l := range a {
		ops = append(ops, op{'-', l})
	}
	for _, l := range b {
		ops = append(ops, op{'+', l})
	}
	return ops
}

func backtrack(a, b []string, trace [][]int32) []op {
	var rev []op
	x, y := len(a), len(b)
	for d := len(trace) - 1; d >= 0; d-- {
		at := func(k int) int { return int(trace[d][k+d+1]) }
		k := x - y
		var pk int
		if k == -d || (k != d && at(k-1) < at(k+1)) {
			pk = k + 1
		} else {
			pk = k - 1
		}
		px := at(pk)
		py := px - pk
		if d == 0 {
			px, py = 0, 0
		}
		for x > px && y > py {
			x, y = x-1, y-1
			rev = append(rev, op{' ', a[x]})
		}
		if d == 0 {
			break
		}
		if x == px {
			y--
			rev = append(rev, op{'+', b[y]})
		} else {
			x--
			rev = append(rev, op{'-', a[x]})
		}
	}
	ops := make([]op, len(rev))
	for i, o := range rev {
		ops[len(rev)-1-i] = o
	}
	return ops
}

// writeHunks writes the changes of ops with context lines around them,
// joining changes whose context would touch.
func writeHunks(out *strings.Builder, ops []op, context int) {
	var changes []int
	for i, o := range ops {
		if o.kind != ' ' {
			changes = append(changes, i)
		}
	}
	// aAt[i] and bAt[i] are the lines of a and b before ops[i].
	aAt, bAt := make([]int, len(ops)+1), make([]int, len(ops)+1)
	for i, o := range ops {
		aAt[i+1], bAt[i+1] = aAt[i], bAt[i]
		if o.kind != '+' {
			aAt[i+1]++
		}
		if o.kind != '-' {
			bAt[i+1]++
		}
	}
	for c := 0; c < len(changes); {
		last := c
		for last+1 < len(changes) && changes[last+1]-changes[last] <= 2*context+1 {
			last++
		}
		from := max(changes[c]-context, 0)
		to := min(changes[last]+context+1, len(ops))
		fmt.Fprintf(out, "@@ -%s +%s @@\n", span(aAt[from], aAt[to]-aAt[from]), span(bAt[from], bAt[to]-bAt[from]))
		for _, o := range ops[from:to] {
			out.WriteByte(o.kind)
			out.WriteString(o.text)
		}
		c = last + 1
	}
}

// span is a hunk header's range: start line (1-based; the line before an
// empty range) and count.
func span(before, count int) string {
	if count == 0 {
		return fmt.Sprintf("%d,0", before)
	}
	if count == 1 {
		return fmt.Sprintf("%d", before+1)
	}
	return fmt.Sprintf("%d,%d", before+1, count)
}
