package shell

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

func init() { register(map[string]Program{"sed": runSed}) }

const sedUsage = "sed [-nErs] [-i[suffix]] [-e script]... [-f file] [script] [file ...]"

// sedInput yields the lines of the input files one after the other,
// knowing which is the last.
type sedInput struct {
	readers []*bufio.Reader
	next    string
	hasNext bool
	lastNL  bool // whether the line just returned ended with a newline
	nextNL  bool
	err     error
}

func (in *sedInput) fill() {
	for len(in.readers) > 0 {
		line, err := readLine(in.readers[0])
		if line != "" {
			in.next, in.hasNext = strings.TrimSuffix(line, "\n"), true
			in.nextNL = strings.HasSuffix(line, "\n")
			if err != nil && !errors.Is(err, io.EOF) {
				in.err = err
			}
			return
		}
		if err != nil && !errors.Is(err, io.EOF) {
			in.err = err
		}
		in.readers = in.readers[1:]
	}
	in.hasNext = false
}

func (in *sedInput) read() (string, bool) {
	if !in.hasNext {
		return "", false
	}
	line, nl := in.next, in.nextNL
	in.fill()
	in.lastNL = nl
	return line, true
}

type sedRun struct {
	c       *Call
	cmds    []*sedCmd
	quiet   bool
	out     *bufio.Writer
	lineNo  int
	lastRE  *regexp.Regexp
	wfiles  map[string]io.WriteCloser
	in      *sedInput
	appendQ []string
	quit    int // -1: keep going
}

// runSed is sed: s///, d, p, q, a, i, c, y, =, n, N, h/H/g/G/x, b/t/T and
// labels, r/w, { } blocks, line/$/regex/range addresses and !, -n, -E, -i.
func runSed(c *Call) int {
	args := c.Args[1:]
	// -i takes an optional suffix glued to it.
	inPlace, suffix := false, ""
	var rest []string
	for _, a := range args {
		switch {
		case a == "-i" || a == "--in-place":
			inPlace = true
		case strings.HasPrefix(a, "--in-place="):
			inPlace, suffix = true, strings.TrimPrefix(a, "--in-place=")
		case strings.HasPrefix(a, "-i") && !strings.HasPrefix(a, "--"):
			inPlace, suffix = true, a[2:]
		case len(a) > 2 && a[0] == '-' && a[1] != '-' && strings.Contains(a, "i") && strings.Trim(a[1:], "nErsi") == "":
			inPlace = true
			rest = append(rest, strings.ReplaceAll(a, "i", ""))
		default:
			rest = append(rest, a)
		}
	}
	opts, operands, ok := c.parse(rest, optSpec{
		short: "nErse:f:uz",
		long:  map[string]string{"quiet": "n", "silent": "n", "regexp-extended": "E", "separate": "s", "expression": "e", "file": "f", "posix": "posix", "debug": "debug", "unbuffered": "u", "null-data": "z"},
		usage: sedUsage,
	})
	if !ok {
		return 1
	}
	var scripts []string
	for _, o := range opts {
		switch o.name {
		case "e":
			scripts = append(scripts, o.val)
		case "f":
			data, err := c.fsys().ReadFile(c.abs(o.val))
			if o.val == "-" {
				data, err = readAll(c.Stdin)
			}
			if err != nil {
				return c.fail("couldn't open file %s: %s", o.val, errText(err))
			}
			scripts = append(scripts, strings.TrimSuffix(string(data), "\n"))
		}
	}
	if len(scripts) == 0 {
		if len(operands) == 0 {
			return c.usageErr(sedUsage, "no script specified")
		}
		scripts, operands = []string{operands[0]}, operands[1:]
	}
	cmds, err := parseSed(strings.Join(scripts, "\n"), opts.has("E") || opts.has("r"))
	if err != nil {
		return c.fail("%v", err)
	}
	s := &sedRun{c: c, cmds: cmds, quiet: opts.has("n"), wfiles: map[string]io.WriteCloser{}, quit: -1}
	defer func() {
		for _, w := range s.wfiles {
			w.Close()
		}
	}()
	if inPlace {
		if len(operands) == 0 {
			return c.fail("no input files")
		}
		status := 0
		for _, f := range operands {
			if st := s.inPlace(f, suffix); st != 0 {
				status = st
			}
			if s.quit >= 0 {
				return s.quit
			}
		}
		return status
	}
	if len(operands) == 0 {
		operands = []string{"-"}
	}
	status := 0
	var readers []*bufio.Reader
	for _, f := range operands {
		r, err := c.open(f)
		if err != nil {
			status = c.fail("can't read %s: %s", f, errText(err))
			continue
		}
		defer r.Close()
		readers = append(readers, bufio.NewReaderSize(r, 64<<10))
	}
	s.out = bufio.NewWriter(c.Stdout)
	if err := s.run(readers); err != nil {
		status = c.fail("%v", err)
	}
	if err := s.out.Flush(); err != nil {
		return 4
	}
	if s.quit >= 0 {
		return s.quit
	}
	if status != 0 {
		return 2
	}
	return 0
}

// inPlace edits one node file: the output replaces its content.
func (s *sedRun) inPlace(f, suffix string) int {
	c := s.c
	p := c.abs(f)
	info, err := c.fsys().Stat(p)
	if err != nil {
		return c.fail("can't read %s: %s", f, errText(err))
	}
	if !info.Mode().IsRegular() {
		return c.fail("couldn't edit %s: not a regular file", f)
	}
	data, err := c.fsys().ReadFile(p)
	if err != nil {
		return c.fail("can't read %s: %s", f, errText(err))
	}
	var buf bytes.Buffer
	s.out = bufio.NewWriter(&buf)
	s.lineNo = 0
	if err := s.run([]*bufio.Reader{bufio.NewReader(bytes.NewReader(data))}); err != nil {
		return c.fail("%v", err)
	}
	s.out.Flush()
	if suffix != "" {
		backup := suffix
		if strings.Contains(suffix, "*") {
			backup = strings.ReplaceAll(suffix, "*", baseName(f))
			if !strings.Contains(backup, "/") {
				backup = dirName(f) + "/" + backup
			}
		} else {
			backup = f + suffix
		}
		if err := c.fsys().WriteFile(c.abs(backup), data, info.Mode().Perm()); err != nil {
			return c.fail("couldn't write %s: %s", backup, errText(err))
		}
	}
	if err := c.fsys().WriteFile(p, buf.Bytes(), info.Mode().Perm()); err != nil {
		return c.fail("couldn't write %s: %s", f, errText(err))
	}
	return 0
}

func (s *sedRun) emit(text string, nl bool) {
	s.out.WriteString(text)
	if nl {
		s.out.WriteByte('\n')
	}
}

func (s *sedRun) matchAddr(a *sedAddr, ps string) bool {
	switch {
	case a.last:
		return !s.in.hasNext
	case a.re != nil:
		s.lastRE = a.re
		return a.re.MatchString(ps)
	case a.step > 0:
		return s.lineNo >= a.line && (s.lineNo-a.line)%a.step == 0
	case a.line == 0 && a.re == nil && !a.last:
		if s.lastRE != nil && a.line == 0 && a.step == 0 {
			return s.lastRE.MatchString(ps)
		}
		return false
	}
	return s.lineNo == a.line
}

func (s *sedRun) selected(cmd *sedCmd, ps string) bool {
	var hit bool
	switch {
	case cmd.a1 == nil:
		hit = true
	case cmd.a2 == nil:
		hit = s.matchAddr(cmd.a1, ps)
	case cmd.active:
		hit = true
		if cmd.a2.re != nil || cmd.a2.last {
			if s.matchAddr(cmd.a2, ps) {
				cmd.active = false
			}
		} else if s.lineNo >= cmd.a2.line {
			cmd.active = false
		}
	default:
		if s.matchAddr(cmd.a1, ps) {
			hit = true
			if cmd.a2.re != nil || cmd.a2.last && s.in.hasNext {
				cmd.active = true
			} else if !cmd.a2.last && cmd.a2.line > s.lineNo {
				cmd.active = true
			}
		}
	}
	return hit != cmd.negate
}

func (s *sedRun) run(readers []*bufio.Reader) error {
	s.in = &sedInput{readers: readers}
	s.in.fill()
	hold := ""
	for {
		ps, ok := s.in.read()
		if !ok {
			break
		}
		if s.lineNo%256 == 0 && s.c.Ctx.Err() != nil {
			return s.c.Ctx.Err()
		}
		s.lineNo++
	cycle:
		tflag := false
		deleted := false
		for pc := 0; pc < len(s.cmds); pc++ {
			cmd := s.cmds[pc]
			if cmd.name == '}' || cmd.name == ':' {
				continue
			}
			if !s.selected(cmd, ps) {
				if cmd.name == '{' {
					pc = cmd.end
				}
				continue
			}
			switch cmd.name {
			case '{':
			case 'd':
				deleted = true
				pc = len(s.cmds)
			case 'D':
				i := strings.IndexByte(ps, '\n')
				if i < 0 {
					deleted = true
					pc = len(s.cmds)
					break
				}
				ps = ps[i+1:]
				s.flushAppends()
				goto cycle
			case 'p':
				s.emit(ps, true)
			case 'P':
				first, _, _ := strings.Cut(ps, "\n")
				s.emit(first, true)
			case 'n':
				if !s.quiet {
					s.emit(ps, true)
				}
				next, ok := s.in.read()
				if !ok {
					s.flushAppends()
					return nil
				}
				s.lineNo++
				ps = next
			case 'N':
				next, ok := s.in.read()
				if !ok {
					pc = len(s.cmds)
					break
				}
				s.lineNo++
				ps += "\n" + next
			case 's':
				re := cmd.re
				if cmd.reEmpty {
					re = s.lastRE
				}
				if re == nil {
					return fmt.Errorf("no previous regular expression")
				}
				s.lastRE = re
				out, did := substitute(re, ps, cmd.repl, cmd.global, cmd.nth)
				if did {
					ps = out
					tflag = true
					if cmd.print {
						s.emit(ps, true)
					}
					if cmd.text != "" {
						s.writeFile(cmd.text, ps)
					}
				}
			case 'y':
				ps = strings.Map(func(r rune) rune {
					if i := slices.Index(cmd.from, r); i >= 0 {
						return cmd.to[i]
					}
					return r
				}, ps)
			case 'q', 'Q':
				if cmd.name == 'q' && !s.quiet {
					s.emit(ps, s.in.lastNL || s.in.hasNext)
				}
				s.flushAppends()
				s.quit = cmd.code
				return nil
			case 'a':
				s.appendQ = append(s.appendQ, cmd.text+"\n")
			case 'i':
				s.emit(cmd.text, true)
			case 'c':
				deleted = true
				if cmd.a2 == nil || !cmd.active {
					s.emit(cmd.text, true)
				}
				pc = len(s.cmds)
			case '=':
				s.emit(strconv.Itoa(s.lineNo), true)
			case 'h':
				hold = ps
			case 'H':
				hold += "\n" + ps
			case 'g':
				ps = hold
			case 'G':
				ps += "\n" + hold
			case 'x':
				ps, hold = hold, ps
			case 'z':
				ps = ""
			case 'F':
				s.emit("-", true)
			case 'r', 'R':
				if data, err := s.c.fsys().ReadFile(s.c.abs(cmd.text)); err == nil {
					s.appendQ = append(s.appendQ, string(data))
				}
			case 'w', 'W':
				s.writeFile(cmd.text, ps)
			case 'b', 't', 'T':
				jump := cmd.name == 'b' || cmd.name == 't' && tflag || cmd.name == 'T' && !tflag
				if cmd.name != 'b' {
					tflag = false
				}
				if jump {
					if cmd.text == "" {
						pc = len(s.cmds)
					} else {
						pc = labelIndex(s.cmds, cmd.text)
					}
				}
			case 'l', 'L':
				s.emit(strconv.Quote(ps)+"$", true)
			}
		}
		if !deleted && !s.quiet {
			s.emit(ps, s.in.lastNL || s.in.hasNext)
		}
		s.flushAppends()
	}
	return s.in.err
}

func (s *sedRun) flushAppends() {
	for _, a := range s.appendQ {
		s.out.WriteString(a)
	}
	s.appendQ = s.appendQ[:0]
}

func (s *sedRun) writeFile(name, text string) {
	w, ok := s.wfiles[name]
	if !ok {
		var err error
		if w, err = s.c.create(name, false); err != nil {
			s.c.fileErr(name, err)
			return
		}
		s.wfiles[name] = w
	}
	io.WriteString(w, text+"\n")
}

// substitute replaces the matches of re in s by repl (with & and \1..\9),
// all of them with global, else the nth (1 by default).
func substitute(re *regexp.Regexp, s, repl string, global bool, nth int) (string, bool) {
	if nth == 0 {
		nth = 1
	}
	matches := re.FindAllStringSubmatchIndex(s, -1)
	if len(matches) < nth {
		return s, false
	}
	var b strings.Builder
	last := 0
	for i, m := range matches {
		if i+1 < nth || (!global && i+1 > nth) {
			continue
		}
		b.WriteString(s[last:m[0]])
		b.WriteString(expandRepl(repl, s, m))
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String(), true
}

// expandRepl builds one replacement: & is the match, \N a group, \n a
// newline, \& and \\ literal; \U \L \u \l \E change case (GNU).
func expandRepl(repl, s string, m []int) string {
	var b strings.Builder
	caseMode, once := byte(0), byte(0)
	write := func(text string) {
		for _, r := range text {
			switch {
			case once == 'u':
				b.WriteString(strings.ToUpper(string(r)))
				once = 0
			case once == 'l':
				b.WriteString(strings.ToLower(string(r)))
				once = 0
			case caseMode == 'U':
				b.WriteString(strings.ToUpper(string(r)))
			case caseMode == 'L':
				b.WriteString(strings.ToLower(string(r)))
			default:
				b.WriteRune(r)
			}
		}
	}
	group := func(n int) string {
		if 2*n+1 >= len(m) || m[2*n] < 0 {
			return ""
		}
		return s[m[2*n]:m[2*n+1]]
	}
	for i := 0; i < len(repl); i++ {
		ch := repl[i]
		switch {
		case ch == '&':
			write(group(0))
		case ch == '\\' && i+1 < len(repl):
			i++
			n := repl[i]
			switch {
			case isDigit(n):
				write(group(int(n - '0')))
			case n == 'n':
				write("\n")
			case n == 't':
				write("\t")
			case n == 'U' || n == 'L':
				caseMode = n
			case n == 'E':
				caseMode = 0
			case n == 'u' || n == 'l':
				once = n
			default:
				write(string(n))
			}
		default:
			write(string(ch))
		}
	}
	return b.String()
}
