package shell

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/aymanbagabas/go-udiff/lcs"
)

func init() { register(map[string]Program{"diff": runDiff}) }

const diffUsage = "diff [-qsuibwB] [-U n] [--label name]... file1 file2"

type diffOp struct {
	kind byte // ' ', '-', '+'
	a, b int  // line indexes in the two files
}

// editScript returns the edit script from a to b, line by line, with the
// removals of each change before its additions, as diff prints them. The
// changes are go-udiff's (a minimal diff, coarser for texts far apart).
func editScript(a, b []string) []diffOp {
	var ops []diffOp
	x, y := 0, 0
	same := func(to int) {
		for ; x < to; x, y = x+1, y+1 {
			ops = append(ops, diffOp{' ', x, y})
		}
	}
	for _, d := range lcs.DiffLines(a, b) {
		same(d.Start)
		for ; x < d.End; x++ {
			ops = append(ops, diffOp{'-', x, y})
		}
		for ; y < d.ReplEnd; y++ {
			ops = append(ops, diffOp{'+', x, y})
		}
	}
	same(len(a))
	return ops
}

// diffFile is one side of a diff: its lines (each with its newline, so a
// missing final newline counts as a difference) and its label.
type diffFile struct {
	label string
	lines []string
}

func (f diffFile) text(i int) string { return strings.TrimSuffix(f.lines[i], "\n") }

func (f diffFile) noEOL(i int) bool { return !strings.HasSuffix(f.lines[i], "\n") }

// runDiff is diff: normal and unified (-u, -U N) output, -q, -s and the
// whitespace and case options. Exit 0 when equal, 1 when different, 2 on
// trouble.
func runDiff(c *Call) int {
	opts, args, ok := c.parse(c.Args[1:], optSpec{
		short: "qsuU:ibwBNaet",
		long: map[string]string{"brief": "q", "report-identical-files": "s", "unified": "U", "ignore-case": "i", "ignore-space-change": "b",
			"ignore-all-space": "w", "ignore-blank-lines": "B", "label": "label:", "new-file": "N", "text": "a", "color": "color:", "strip-trailing-cr": "strip-cr"},
		usage: diffUsage,
	})
	if !ok {
		return 2
	}
	if len(args) != 2 {
		c.usageErr(diffUsage, "missing operand")
		return 2
	}
	labels := opts.all("label")
	var files [2]diffFile
	for i, name := range args {
		files[i].label = name
		if i < len(labels) {
			files[i].label = labels[i]
		} else if name != "-" {
			if info, err := c.fsys().Stat(c.abs(name)); err == nil {
				files[i].label = name + "\t" + info.ModTime().Format("2006-01-02 15:04:05.000000000 -0700")
			}
		}
		r, err := c.open(name)
		if err != nil {
			if opts.has("N") {
				continue
			}
			c.fileErr(name, err)
			return 2
		}
		data, err := readAll(r)
		r.Close()
		if err != nil {
			c.fileErr(name, err)
			return 2
		}
		files[i].lines = splitLinesKeep(string(data))
	}
	key := func(s string) string {
		if opts.has("strip-cr") {
			s = strings.ReplaceAll(s, "\r\n", "\n")
		}
		if opts.has("i") {
			s = strings.ToLower(s)
		}
		if opts.has("w") {
			s = strings.Join(strings.Fields(s), "")
		} else if opts.has("b") {
			s = strings.Join(strings.Fields(s), " ")
		}
		return s
	}
	keys := [2][]string{}
	for i := range files {
		for _, l := range files[i].lines {
			keys[i] = append(keys[i], key(l))
		}
	}
	ops := editScript(keys[0], keys[1])
	changed := false
	for _, op := range ops {
		if op.kind != ' ' {
			if opts.has("B") && strings.TrimSpace(files[0].lineAt(op)) == "" && op.kind == '-' ||
				opts.has("B") && op.kind == '+' && strings.TrimSpace(files[1].text(op.b)) == "" {
				continue
			}
			changed = true
		}
	}
	if !changed {
		if opts.has("s") {
			fmt.Fprintf(c.Stdout, "Files %s and %s are identical\n", args[0], args[1])
		}
		return 0
	}
	if opts.has("q") {
		fmt.Fprintf(c.Stdout, "Files %s and %s differ\n", args[0], args[1])
		return 1
	}
	var out strings.Builder
	if opts.has("u") || opts.has("U") {
		ctx := 3
		if v := opts.get("U", ""); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				c.errf("invalid context length '%s'", v)
				return 2
			}
			ctx = n
		}
		unified(&out, files, ops, ctx)
	} else {
		normal(&out, files, ops)
	}
	if _, err := io.WriteString(c.Stdout, out.String()); err != nil {
		return 2
	}
	return 1
}

func (f diffFile) lineAt(op diffOp) string {
	if op.a < len(f.lines) {
		return f.text(op.a)
	}
	return ""
}

func splitLinesKeep(s string) []string {
	var out []string
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

func writeLine(out *strings.Builder, prefix string, f diffFile, i int) {
	out.WriteString(prefix + f.text(i) + "\n")
	if f.noEOL(i) {
		out.WriteString("\\ No newline at end of file\n")
	}
}

// unified prints ops as unified hunks with ctx lines of context.
func unified(out *strings.Builder, files [2]diffFile, ops []diffOp, ctx int) {
	fmt.Fprintf(out, "--- %s\n+++ %s\n", files[0].label, files[1].label)
	i := 0
	for i < len(ops) {
		for i < len(ops) && ops[i].kind == ' ' {
			i++
		}
		if i >= len(ops) {
			break
		}
		start := max(0, i-ctx)
		end := i
		// extend while changes are within 2*ctx of each other
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run >= len(ops) || run-end > 2*ctx {
				end = min(len(ops), end+ctx)
				break
			}
			end = run
		}
		aStart, bStart, aLen, bLen := -1, -1, 0, 0
		for _, op := range ops[start:end] {
			if aStart < 0 {
				aStart, bStart = op.a, op.b
			}
			if op.kind != '+' {
				aLen++
			}
			if op.kind != '-' {
				bLen++
			}
		}
		fmt.Fprintf(out, "@@ -%s +%s @@\n", hunkRange(aStart, aLen), hunkRange(bStart, bLen))
		for _, op := range ops[start:end] {
			switch op.kind {
			case ' ':
				writeLine(out, " ", files[0], op.a)
			case '-':
				writeLine(out, "-", files[0], op.a)
			case '+':
				writeLine(out, "+", files[1], op.b)
			}
		}
		i = end
	}
}

func hunkRange(start, n int) string {
	switch n {
	case 0:
		return fmt.Sprintf("%d,0", start)
	case 1:
		return strconv.Itoa(start + 1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

func normalRange(lo, hi int) string {
	if hi-lo <= 1 {
		return strconv.Itoa(hi)
	}
	return fmt.Sprintf("%d,%d", lo+1, hi)
}

// normal prints ops in diff's default format (a, d and c commands).
func normal(out *strings.Builder, files [2]diffFile, ops []diffOp) {
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		j := i
		var dels, adds []diffOp
		for j < len(ops) && ops[j].kind != ' ' {
			if ops[j].kind == '-' {
				dels = append(dels, ops[j])
			} else {
				adds = append(adds, ops[j])
			}
			j++
		}
		a0, b0 := ops[i].a, ops[i].b
		switch {
		case len(adds) == 0:
			fmt.Fprintf(out, "%sd%d\n", normalRange(a0, a0+len(dels)), b0)
		case len(dels) == 0:
			fmt.Fprintf(out, "%da%s\n", a0, normalRange(b0, b0+len(adds)))
		default:
			fmt.Fprintf(out, "%sc%s\n", normalRange(a0, a0+len(dels)), normalRange(b0, b0+len(adds)))
		}
		for _, d := range dels {
			writeLine(out, "< ", files[0], d.a)
		}
		if len(dels) > 0 && len(adds) > 0 {
			out.WriteString("---\n")
		}
		for _, a := range adds {
			writeLine(out, "> ", files[1], a.b)
		}
		i = j
	}
}
