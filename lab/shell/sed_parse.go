package shell

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// sedAddr is one address: a line number, "$", a regular expression, or
// first~step.
type sedAddr struct {
	line, step int
	last       bool
	re         *regexp.Regexp
}

// sedCmd is one command of a sed script.
type sedCmd struct {
	a1, a2  *sedAddr
	negate  bool
	name    byte
	end     int // for '{': index of the matching '}'
	active  bool
	re      *regexp.Regexp
	repl    string
	global  bool
	nth     int
	print   bool
	text    string // a, i, c text; r/w file; b/t label
	from    []rune // y
	to      []rune
	code    int // q, Q exit status
	reEmpty bool
}

type sedParser struct {
	src  string
	i    int
	ere  bool
	cmds []*sedCmd
}

func (p *sedParser) eof() bool { return p.i >= len(p.src) }
func (p *sedParser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.src[p.i]
}

func (p *sedParser) skipSpace() {
	for !p.eof() && (p.peek() == ' ' || p.peek() == '\t') {
		p.i++
	}
}

func (p *sedParser) errf(format string, a ...any) error {
	return fmt.Errorf("-e expression #1, char %d: %s", p.i, fmt.Sprintf(format, a...))
}

// parseSed compiles a sed script.
func parseSed(src string, ere bool) ([]*sedCmd, error) {
	p := &sedParser{src: src, ere: ere}
	var stack []int
	for {
		for !p.eof() && strings.IndexByte(" \t\n;", p.peek()) >= 0 {
			p.i++
		}
		if p.eof() {
			break
		}
		if p.peek() == '#' {
			for !p.eof() && p.peek() != '\n' {
				p.i++
			}
			continue
		}
		cmd := &sedCmd{}
		var err error
		if cmd.a1, err = p.addr(); err != nil {
			return nil, err
		}
		if cmd.a1 != nil && p.peek() == ',' {
			p.i++
			p.skipSpace()
			if cmd.a2, err = p.addr(); err != nil {
				return nil, err
			}
			if cmd.a2 == nil {
				return nil, p.errf("unexpected `,'")
			}
		}
		p.skipSpace()
		for p.peek() == '!' {
			cmd.negate = true
			p.i++
			p.skipSpace()
		}
		if p.eof() {
			return nil, p.errf("missing command")
		}
		cmd.name = p.src[p.i]
		p.i++
		switch cmd.name {
		case '{':
			stack = append(stack, len(p.cmds))
		case '}':
			if len(stack) == 0 || cmd.a1 != nil {
				return nil, p.errf("unexpected `}'")
			}
			open := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			p.cmds[open].end = len(p.cmds)
		case 's':
			if err := p.subst(cmd); err != nil {
				return nil, err
			}
		case 'y':
			if err := p.translit(cmd); err != nil {
				return nil, err
			}
		case 'a', 'i', 'c':
			cmd.text = p.text()
		case 'r', 'R', 'w', 'W':
			p.skipSpace()
			cmd.text = p.restOfLine()
			if cmd.text == "" {
				return nil, p.errf("missing filename in r/R/w/W commands")
			}
		case 'b', 't', 'T', ':':
			p.skipSpace()
			start := p.i
			for !p.eof() && p.peek() != '\n' && p.peek() != ';' && (cmd.name == ':' || p.peek() != '}') {
				p.i++
			}
			cmd.text = strings.TrimSpace(p.src[start:p.i])
			if cmd.name == ':' && cmd.text == "" {
				return nil, p.errf("\":\" lacks a label")
			}
		case 'q', 'Q', 'l', 'L':
			p.skipSpace()
			start := p.i
			for !p.eof() && isDigit(p.peek()) {
				p.i++
			}
			if start < p.i {
				cmd.code, _ = strconv.Atoi(p.src[start:p.i])
			}
		case 'd', 'D', 'p', 'P', 'n', 'N', 'h', 'H', 'g', 'G', 'x', '=', 'z', 'F':
		default:
			return nil, p.errf("unknown command: `%c'", cmd.name)
		}
		p.cmds = append(p.cmds, cmd)
		p.skipSpace()
		if cmd.name != '{' && !p.eof() && strings.IndexByte(";\n}#", p.peek()) < 0 {
			return nil, p.errf("extra characters after command")
		}
	}
	if len(stack) > 0 {
		return nil, p.errf("unmatched `{'")
	}
	for _, c := range p.cmds {
		if (c.name == 'b' || c.name == 't' || c.name == 'T') && c.text != "" && labelIndex(p.cmds, c.text) < 0 {
			return nil, fmt.Errorf("-e expression #1, char 0: can't find label for jump to `%s'", c.text)
		}
	}
	return p.cmds, nil
}

func labelIndex(cmds []*sedCmd, label string) int {
	for i, c := range cmds {
		if c.name == ':' && c.text == label {
			return i
		}
	}
	return -1
}

func (p *sedParser) restOfLine() string {
	start := p.i
	for !p.eof() && p.peek() != '\n' {
		p.i++
	}
	return p.src[start:p.i]
}

func (p *sedParser) addr() (*sedAddr, error) {
	switch ch := p.peek(); {
	case isDigit(ch):
		start := p.i
		for !p.eof() && isDigit(p.peek()) {
			p.i++
		}
		n, err := strconv.Atoi(p.src[start:p.i])
		if err != nil {
			return nil, p.errf("invalid line number")
		}
		a := &sedAddr{line: n}
		if p.peek() == '~' {
			p.i++
			start = p.i
			for !p.eof() && isDigit(p.peek()) {
				p.i++
			}
			a.step, _ = strconv.Atoi(p.src[start:p.i])
		}
		return a, nil
	case ch == '$':
		p.i++
		return &sedAddr{last: true}, nil
	case ch == '/' || ch == '\\':
		if ch == '\\' {
			p.i++
		}
		delim := p.peek()
		p.i++
		pat, err := p.delimited(delim)
		if err != nil {
			return nil, err
		}
		fold := false
		for p.peek() == 'I' || p.peek() == 'M' {
			fold = fold || p.peek() == 'I'
			p.i++
		}
		if pat == "" {
			return &sedAddr{}, nil // the last regular expression; resolved at run time
		}
		re, err := posixRegexp(pat, p.ere, fold)
		if err != nil {
			return nil, p.errf("%v", err)
		}
		return &sedAddr{re: re}, nil
	}
	return nil, nil
}

// delimited reads up to an unescaped delim; "\delim" stands for delim.
func (p *sedParser) delimited(delim byte) (string, error) {
	var b strings.Builder
	inBracket := false
	for {
		if p.eof() {
			return "", p.errf("unterminated address regex")
		}
		ch := p.src[p.i]
		p.i++
		switch {
		case ch == '\\' && !p.eof():
			n := p.src[p.i]
			p.i++
			if n == delim {
				b.WriteByte(n)
			} else if n == 'n' {
				b.WriteString(`\n`)
			} else {
				b.WriteByte('\\')
				b.WriteByte(n)
			}
		case ch == '[' && !inBracket:
			inBracket = true
			b.WriteByte(ch)
			if p.peek() == '^' {
				b.WriteByte('^')
				p.i++
			}
			if p.peek() == ']' {
				b.WriteByte(']')
				p.i++
			}
		case ch == ']' && inBracket:
			inBracket = false
			b.WriteByte(ch)
		case ch == delim && !inBracket:
			return b.String(), nil
		case ch == '\n' && delim != '\n':
			return "", p.errf("unterminated `s' command")
		default:
			b.WriteByte(ch)
		}
	}
}

func (p *sedParser) subst(cmd *sedCmd) error {
	if p.eof() || p.peek() == '\n' || p.peek() == '\\' {
		return p.errf("unterminated `s' command")
	}
	delim := p.src[p.i]
	p.i++
	pat, err := p.delimited(delim)
	if err != nil {
		return err
	}
	// The replacement keeps its escapes; they are read when applied.
	var repl strings.Builder
	for {
		if p.eof() {
			return p.errf("unterminated `s' command")
		}
		ch := p.src[p.i]
		p.i++
		if ch == '\\' && !p.eof() {
			n := p.src[p.i]
			p.i++
			if n == delim && delim != '&' {
				repl.WriteByte(n)
				if n == '\\' {
					repl.WriteByte(n)
				}
				continue
			}
			if n == '\n' {
				repl.WriteString(`\n`)
				continue
			}
			repl.WriteByte('\\')
			repl.WriteByte(n)
			continue
		}
		if ch == delim {
			break
		}
		repl.WriteByte(ch)
	}
	cmd.repl = repl.String()
	fold := false
	for !p.eof() {
		ch := p.peek()
		switch {
		case ch == 'g':
			cmd.global = true
		case ch == 'p':
			cmd.print = true
		case ch == 'i' || ch == 'I':
			fold = true
		case ch == 'm' || ch == 'M' || ch == 'e':
		case isDigit(ch):
			start := p.i
			for !p.eof() && isDigit(p.peek()) {
				p.i++
			}
			cmd.nth, _ = strconv.Atoi(p.src[start:p.i])
			continue
		case ch == 'w':
			p.i++
			p.skipSpace()
			cmd.text = p.restOfLine()
			continue
		default:
			goto done
		}
		p.i++
	}
done:
	if pat == "" {
		cmd.reEmpty = true
		return nil
	}
	cmd.re, err = posixRegexp(pat, p.ere, fold)
	if err != nil {
		return p.errf("%v", err)
	}
	return nil
}

func (p *sedParser) translit(cmd *sedCmd) error {
	if p.eof() {
		return p.errf("unterminated `y' command")
	}
	delim := p.src[p.i]
	p.i++
	from, err := p.delimited(delim)
	if err != nil {
		return err
	}
	to, err := p.delimited(delim)
	if err != nil {
		return err
	}
	un := strings.NewReplacer(`\n`, "\n", `\t`, "\t", `\\`, `\`)
	cmd.from, cmd.to = []rune(un.Replace(from)), []rune(un.Replace(to))
	if len(cmd.from) != len(cmd.to) {
		return p.errf("strings for `y' command are different lengths")
	}
	return nil
}

// text reads the text of a, i and c: "a text", "a\" NEWLINE "text", with
// backslash-newline continuing the text on the next line.
func (p *sedParser) text() string {
	p.skipSpace()
	if p.peek() == '\\' {
		p.i++
		if p.peek() == '\n' {
			p.i++
		}
	}
	var b strings.Builder
	for !p.eof() {
		ch := p.src[p.i]
		p.i++
		if ch == '\\' && !p.eof() {
			b.WriteByte(p.src[p.i])
			p.i++
			continue
		}
		if ch == '\n' {
			p.i--
			break
		}
		b.WriteByte(ch)
	}
	return b.String()
}
