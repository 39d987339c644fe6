package shell

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"strings"
)

func init() {
	register(map[string]Program{
		"grep":  runGrep,
		"egrep": runGrep,
		"fgrep": runGrep,
	})
}

const grepUsage = "grep [-EFGcHhiLlnoqrsvwx] [-A n] [-B n] [-C n] [-m n] [-e pattern]... [-f file] [pattern] [file ...]"

type grepper struct {
	c                     *Call
	opts                  options
	re                    *regexp.Regexp
	invert                bool
	showName              bool
	before, after, maxHit int
	matched               bool
}

// runGrep is grep with basic (-G, default), extended (-E) and fixed (-F)
// patterns, and the usual output options.
func runGrep(c *Call) int {
	opts, args, ok := c.parse(c.Args[1:], optSpec{
		short: "EFGPcHhiyLlnoqrRsvwxaIzZe:f:m:A:B:C:",
		long: map[string]string{"extended-regexp": "E", "fixed-strings": "F", "basic-regexp": "G", "count": "c", "with-filename": "H",
			"no-filename": "h", "ignore-case": "i", "files-without-match": "L", "files-with-matches": "l", "line-number": "n",
			"only-matching": "o", "quiet": "q", "silent": "q", "recursive": "r", "dereference-recursive": "R", "no-messages": "s",
			"invert-match": "v", "word-regexp": "w", "line-regexp": "x", "regexp": "e", "file": "f", "max-count": "m",
			"after-context": "A", "before-context": "B", "context": "C", "text": "a", "color": "color:", "colour": "color:",
			"include": "include:", "exclude": "exclude:", "exclude-dir": "exclude-dir:", "null": "Z"},
		usage: grepUsage,
	})
	if !ok {
		return 2
	}
	patterns := opts.all("e")
	for _, f := range opts.all("f") {
		r, err := c.open(f)
		if err != nil {
			c.fileErr(f, err)
			return 2
		}
		lines, err := readAllLines(r)
		r.Close()
		if err != nil {
			c.fileErr(f, err)
			return 2
		}
		patterns = append(patterns, lines...)
	}
	if !opts.has("e") && !opts.has("f") {
		if len(args) == 0 {
			return c.usageErr(grepUsage, "")
		}
		patterns = strings.Split(args[0], "\n")
		args = args[1:]
	}
	ere := opts.has("E") || c.name() == "egrep"
	fixed := opts.has("F") || c.name() == "fgrep"
	if opts.has("P") {
		ere = true // Perl syntax is close enough to RE2 for the common cases
	}
	var parts []string
	for _, p := range patterns {
		var conv string
		switch {
		case fixed:
			conv = regexp.QuoteMeta(p)
		case opts.has("P"):
			conv = p
		default:
			var err error
			if conv, err = convertPOSIX(p, ere); err != nil {
				c.errf("%v", err)
				return 2
			}
		}
		if opts.has("w") {
			conv = `\b(?:` + conv + `)\b`
		}
		if opts.has("x") {
			conv = `^(?:` + conv + `)$`
		}
		parts = append(parts, "(?:"+conv+")")
	}
	expr := strings.Join(parts, "|")
	if len(parts) == 0 {
		expr = "$^" // no pattern matches nothing
	}
	if opts.has("i") || opts.has("y") {
		expr = "(?i)" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		c.errf("invalid regular expression: %v", errReason(err))
		return 2
	}
	g := &grepper{c: c, opts: opts, re: re, invert: opts.has("v"), maxHit: -1}
	for _, spec := range []struct {
		name string
		dst  *int
	}{{"A", &g.after}, {"B", &g.before}, {"m", &g.maxHit}} {
		if v := opts.get(spec.name, ""); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || (n < 0 && spec.name != "m") {
				c.errf("%s: invalid context length argument", v)
				return 2
			}
			*spec.dst = n
		}
	}
	if v := opts.get("C", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			c.errf("%s: invalid context length argument", v)
			return 2
		}
		if !opts.has("A") {
			g.after = n
		}
		if !opts.has("B") {
			g.before = n
		}
	}
	recursive := opts.has("r") || opts.has("R")
	if len(args) == 0 && recursive {
		args = []string{"."}
	}
	g.showName = (len(args) > 1 || recursive) && !opts.has("h") || opts.has("H")
	status := 0
	if len(args) == 0 {
		args = []string{"-"}
	}
	for _, a := range args {
		st := g.file(a, recursive, true)
		if st > status {
			status = st
		}
		if g.matched && opts.has("q") {
			return 0
		}
	}
	if status == 2 && !(g.matched && opts.has("q")) {
		return 2
	}
	if g.matched {
		return 0
	}
	return 1
}

// file searches one operand; directories are searched with -r.
func (g *grepper) file(name string, recursive, top bool) int {
	c := g.c
	if c.Ctx.Err() != nil {
		return 2
	}
	if name != "-" {
		p := c.abs(name)
		info, err := c.fsys().Stat(p)
		if err != nil && !top {
			return 0 // dangling links met while recursing
		}
		if err == nil && info.IsDir() {
			if !recursive {
				if !g.opts.has("s") {
					c.errf("%s: Is a directory", name)
				}
				return 2
			}
			if !top && !g.opts.has("R") {
				if li, err := c.fsys().Lstat(p); err == nil && li.Mode()&fs.ModeSymlink != 0 {
					return 0 // -r does not follow links below the top
				}
			}
			entries, err := c.fsys().ReadDir(p)
			if err != nil {
				if !g.opts.has("s") {
					c.fileErr(name, err)
				}
				return 2
			}
			status := 0
			for _, e := range entries {
				if ex := g.opts.get("exclude-dir", ""); e.IsDir() && ex != "" {
					if ok, _ := path.Match(ex, e.Name()); ok {
						continue
					}
				}
				child := path.Join(name, e.Name())
				if name == "." && top {
					child = e.Name()
				}
				if st := g.file(child, recursive, false); st > status {
					status = st
				}
				if g.matched && g.opts.has("q") {
					return status
				}
			}
			return status
		}
		if !top {
			if inc := g.opts.get("include", ""); inc != "" {
				if ok, _ := path.Match(inc, path.Base(name)); !ok {
					return 0
				}
			}
			if ex := g.opts.get("exclude", ""); ex != "" {
				if ok, _ := path.Match(ex, path.Base(name)); ok {
					return 0
				}
			}
		}
	}
	r, err := c.open(name)
	if err != nil {
		if !g.opts.has("s") {
			c.fileErr(name, err)
		}
		return 2
	}
	defer r.Close()
	shown := name
	if name == "-" {
		shown = "(standard input)"
	}
	if err := g.search(shown, r); err != nil {
		if isWriteErr(err) {
			return 2
		}
		if !g.opts.has("s") {
			c.fileErr(name, err)
		}
		return 2
	}
	return 0
}

// search scans one input and prints what the options ask for.
func (g *grepper) search(name string, r io.Reader) error {
	o := g.opts
	out := bufio.NewWriter(g.c.Stdout)
	defer out.Flush()
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(32 << 10)
	binary := bytes.IndexByte(head, 0) >= 0 && !o.has("a")
	prefix := func(n int, sep byte) string {
		var p string
		if g.showName {
			p = name + string(sep)
		}
		if o.has("n") {
			p += strconv.Itoa(n) + string(sep)
		}
		return p
	}
	count := 0
	lineNo := 0
	var before []string
	afterLeft := 0
	lastPrinted := 0
	quietOutput := o.has("q") || o.has("l") || o.has("L") || o.has("c")
	for {
		if g.maxHit >= 0 && count >= g.maxHit {
			break
		}
		line, err := readLine(br)
		if line == "" && err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return err
		}
		lineNo++
		text := strings.TrimSuffix(line, "\n")
		hit := g.re.MatchString(text) != g.invert
		switch {
		case hit:
			count++
			g.matched = true
			if o.has("q") {
				return nil
			}
			if quietOutput || binary {
				continue
			}
			if (g.before > 0 || g.after > 0) && lastPrinted > 0 && lineNo-len(before) > lastPrinted+1 {
				out.WriteString("--\n")
			}
			for i, b := range before {
				out.WriteString(prefix(lineNo-len(before)+i, '-') + b + "\n")
			}
			before = before[:0]
			if o.has("o") && !g.invert {
				for _, m := range g.re.FindAllString(text, -1) {
					if m != "" {
						out.WriteString(prefix(lineNo, ':') + m + "\n")
					}
				}
			} else {
				out.WriteString(prefix(lineNo, ':') + text + "\n")
			}
			lastPrinted = lineNo
			afterLeft = g.after
		case afterLeft > 0 && !quietOutput && !binary:
			out.WriteString(prefix(lineNo, '-') + text + "\n")
			lastPrinted = lineNo
			afterLeft--
		case g.before > 0:
			before = append(before, text)
			if len(before) > g.before {
				before = before[1:]
			}
		}
		if err != nil {
			break
		}
	}
	switch {
	case o.has("q"):
	case o.has("l"):
		if count > 0 {
			out.WriteString(name + "\n")
		}
	case o.has("L"):
		if count == 0 {
			out.WriteString(name + "\n")
			g.matched = true
		}
	case o.has("c"):
		if g.showName {
			out.WriteString(name + ":")
		}
		out.WriteString(strconv.Itoa(count) + "\n")
	case binary && count > 0:
		fmt.Fprintf(out, "Binary file %s matches\n", name)
	}
	if err := out.Flush(); err != nil {
		return writeErr{err}
	}
	return nil
}
