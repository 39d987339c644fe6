package shell

import (
	"fmt"
	"regexp"
)

// Expressions of the awk tree.
type (
	awkExpr  any
	numLit   struct{ v float64 }
	strLit   struct{ v string }
	regexLit struct{ re *regexp.Regexp }
	varRef   struct{ name string }
	fieldRef struct{ idx awkExpr }
	indexRef struct {
		name string
		subs []awkExpr
	}
	assignExpr struct {
		op       string // "=", "+=", ...
		lhs, rhs awkExpr
	}
	condExpr   struct{ c, a, b awkExpr }
	binaryExpr struct {
		op   string
		l, r awkExpr
	}
	matchExpr struct {
		neg   bool
		l, re awkExpr
	}
	unaryExpr struct {
		op string
		x  awkExpr
	}
	incDec struct {
		pre bool
		op  string
		lv  awkExpr
	}
	inExpr struct {
		subs []awkExpr
		arr  string
	}
	callExpr struct {
		name    string
		builtin bool
		args    []awkExpr
	}
	getlineExpr struct{ lv, file awkExpr }
	groupExpr   struct{ x awkExpr }
)

// Statements of the awk tree.
type (
	awkStmt   any
	printStmt struct {
		args   []awkExpr
		printf bool
		redir  string
		dest   awkExpr
	}
	exprStmt  struct{ x awkExpr }
	ifStmt    struct{ cond, then, els awkStmt }
	whileStmt struct {
		cond awkExpr
		body awkStmt
		do   bool
	}
	forStmt struct {
		init, post awkStmt
		cond       awkExpr
		body       awkStmt
	}
	forInStmt struct {
		v, arr string
		body   awkStmt
	}
	blockStmt  []awkStmt
	ctlStmt    struct{ kind string } // next, nextfile, break, continue
	exitStmt   struct{ code awkExpr }
	returnStmt struct{ x awkExpr }
	deleteStmt struct {
		arr  string
		subs []awkExpr
	}
)

type awkRule struct {
	pat1, pat2 awkExpr
	ranged     bool
	inRange    bool
	body       blockStmt // nil: print $0
}

type awkFunc struct {
	params []string
	body   blockStmt
}

type awkProgram struct {
	begins, ends []blockStmt
	rules        []*awkRule
	funcs        map[string]*awkFunc
}

type awkParser struct {
	toks []awkToken
	i    int
	// noGT and noIn make ">" and "in" end an expression (print redirection,
	// for-in heads).
	noGT, noIn bool
}

func (p *awkParser) peek() awkToken { return p.toks[p.i] }
func (p *awkParser) is(kind awkTok, text string) bool {
	t := p.toks[p.i]
	return t.kind == kind && t.text == text
}
func (p *awkParser) punct(text string) bool { return p.is(tPunct, text) }
func (p *awkParser) kw(text string) bool    { return p.is(tKeyword, text) }

func (p *awkParser) advance() awkToken {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *awkParser) errf(format string, a ...any) error {
	return fmt.Errorf("syntax error at source line %d: %s", p.peek().line, fmt.Sprintf(format, a...))
}

func (p *awkParser) expect(text string) error {
	if !p.punct(text) {
		t := p.peek()
		shown := t.text
		if t.kind == tEOF {
			shown = "end of program"
		} else if t.kind == tNewline {
			shown = "newline"
		} else if shown == "" {
			shown = t.str
		}
		return p.errf("expected '%s' near '%s'", text, shown)
	}
	p.advance()
	return nil
}

func (p *awkParser) newlines() {
	for p.peek().kind == tNewline {
		p.advance()
	}
}

func (p *awkParser) terminators() {
	for p.peek().kind == tNewline || p.punct(";") {
		p.advance()
	}
}

// parseAwk compiles an awk program.
func parseAwk(src string) (*awkProgram, error) {
	lx := &awkLexer{src: src}
	toks, err := lx.all()
	if err != nil {
		return nil, err
	}
	p := &awkParser{toks: toks}
	prog := &awkProgram{funcs: map[string]*awkFunc{}}
	for {
		p.terminators()
		if p.peek().kind == tEOF {
			break
		}
		switch {
		case p.kw("BEGIN"), p.kw("END"):
			isBegin := p.advance().text == "BEGIN"
			p.newlines()
			body, err := p.block()
			if err != nil {
				return nil, err
			}
			if isBegin {
				prog.begins = append(prog.begins, body)
			} else {
				prog.ends = append(prog.ends, body)
			}
		case p.kw("function"), p.kw("func"):
			p.advance()
			t := p.advance()
			if t.kind != tName && t.kind != tFuncName {
				return nil, p.errf("expected a function name")
			}
			if err := p.expect("("); err != nil {
				return nil, err
			}
			var params []string
			for !p.punct(")") {
				pt := p.advance()
				if pt.kind != tName {
					return nil, p.errf("expected a parameter name")
				}
				params = append(params, pt.text)
				p.newlines()
				if p.punct(",") {
					p.advance()
					p.newlines()
				}
			}
			p.advance()
			p.newlines()
			body, err := p.block()
			if err != nil {
				return nil, err
			}
			prog.funcs[t.text] = &awkFunc{params: params, body: body}
		default:
			r := &awkRule{}
			if !p.punct("{") {
				if r.pat1, err = p.expr(); err != nil {
					return nil, err
				}
				if p.punct(",") {
					p.advance()
					p.newlines()
					if r.pat2, err = p.expr(); err != nil {
						return nil, err
					}
					r.ranged = true
				}
			}
			if p.punct("{") {
				if r.body, err = p.block(); err != nil {
					return nil, err
				}
			}
			prog.rules = append(prog.rules, r)
		}
	}
	return prog, nil
}

func (p *awkParser) block() (blockStmt, error) {
	if err := p.expect("{"); err != nil {
		return nil, err
	}
	body := blockStmt{}
	for {
		p.terminators()
		if p.punct("}") {
			p.advance()
			return body, nil
		}
		if p.peek().kind == tEOF {
			return nil, p.errf("missing '}'")
		}
		s, err := p.stmt()
		if err != nil {
			return nil, err
		}
		body = append(body, s)
	}
}

// simpleEnd checks that a simple statement ends properly.
func (p *awkParser) simpleEnd() error {
	switch {
	case p.punct(";"), p.peek().kind == tNewline:
		p.advance()
	case p.punct("}"), p.peek().kind == tEOF:
	default:
		t := p.peek()
		return p.errf("unexpected '%s'", t.text+t.str)
	}
	return nil
}

func (p *awkParser) stmtOrBlock() (awkStmt, error) {
	p.newlines()
	if p.punct(";") {
		p.advance()
		return blockStmt{}, nil
	}
	return p.stmt()
}

func (p *awkParser) stmt() (awkStmt, error) {
	if p.punct("{") {
		return p.block()
	}
	if p.peek().kind == tKeyword {
		switch p.peek().text {
		case "if":
			p.advance()
			if err := p.expect("("); err != nil {
				return nil, err
			}
			cond, err := p.expr()
			if err != nil {
				return nil, err
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
			then, err := p.stmtOrBlock()
			if err != nil {
				return nil, err
			}
			s := &ifStmt{cond: cond, then: then}
			save := p.i
			p.terminators()
			if p.kw("else") {
				p.advance()
				if s.els, err = p.stmtOrBlock(); err != nil {
					return nil, err
				}
			} else {
				p.i = save
			}
			return s, nil
		case "while":
			p.advance()
			if err := p.expect("("); err != nil {
				return nil, err
			}
			cond, err := p.expr()
			if err != nil {
				return nil, err
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
			if p.punct(";") {
				p.advance()
				return &whileStmt{cond: cond, body: blockStmt{}}, nil
			}
			body, err := p.stmtOrBlock()
			return &whileStmt{cond: cond, body: body}, err
		case "do":
			p.advance()
			body, err := p.stmtOrBlock()
			if err != nil {
				return nil, err
			}
			p.terminators()
			if !p.kw("while") {
				return nil, p.errf("expected 'while' after 'do' body")
			}
			p.advance()
			if err := p.expect("("); err != nil {
				return nil, err
			}
			cond, err := p.expr()
			if err != nil {
				return nil, err
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
			return &whileStmt{cond: cond, body: body, do: true}, p.simpleEnd()
		case "for":
			return p.forStmt()
		case "next", "nextfile", "break", "continue":
			t := p.advance()
			return &ctlStmt{kind: t.text}, p.simpleEnd()
		case "exit", "return":
			t := p.advance()
			var x awkExpr
			if !p.punct(";") && !p.punct("}") && p.peek().kind != tNewline && p.peek().kind != tEOF {
				var err error
				if x, err = p.expr(); err != nil {
					return nil, err
				}
			}
			if t.text == "exit" {
				return &exitStmt{code: x}, p.simpleEnd()
			}
			return &returnStmt{x: x}, p.simpleEnd()
		case "delete":
			p.advance()
			t := p.advance()
			if t.kind != tName {
				return nil, p.errf("expected an array name after delete")
			}
			s := &deleteStmt{arr: t.text}
			if p.punct("[") {
				p.advance()
				subs, err := p.exprList("]")
				if err != nil {
					return nil, err
				}
				s.subs = subs
			}
			return s, p.simpleEnd()
		case "print", "printf":
			s, err := p.printStmt()
			if err != nil {
				return nil, err
			}
			return s, p.simpleEnd()
		}
	}
	x, err := p.expr()
	if err != nil {
		return nil, err
	}
	return &exprStmt{x: x}, p.simpleEnd()
}

func (p *awkParser) forStmt() (awkStmt, error) {
	p.advance()
	if err := p.expect("("); err != nil {
		return nil, err
	}
	// for (k in arr)
	if p.peek().kind == tName && p.toks[p.i+1].kind == tKeyword && p.toks[p.i+1].text == "in" &&
		p.toks[p.i+2].kind == tName && p.toks[p.i+3].kind == tPunct && p.toks[p.i+3].text == ")" {
		v := p.advance().text
		p.advance()
		arr := p.advance().text
		p.advance()
		body, err := p.stmtOrBlock()
		return &forInStmt{v: v, arr: arr, body: body}, err
	}
	s := &forStmt{}
	var err error
	if !p.punct(";") {
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		s.init = &exprStmt{x: x}
	}
	if err := p.expect(";"); err != nil {
		return nil, err
	}
	p.newlines()
	if !p.punct(";") {
		if s.cond, err = p.expr(); err != nil {
			return nil, err
		}
	}
	if err := p.expect(";"); err != nil {
		return nil, err
	}
	p.newlines()
	if !p.punct(")") {
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		s.post = &exprStmt{x: x}
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	if p.punct(";") {
		p.advance()
		s.body = blockStmt{}
		return s, nil
	}
	s.body, err = p.stmtOrBlock()
	return s, err
}

func (p *awkParser) printStmt() (awkStmt, error) {
	s := &printStmt{printf: p.advance().text == "printf"}
	oldGT := p.noGT
	p.noGT = true
	defer func() { p.noGT = oldGT }()
	if !p.punct(";") && !p.punct("}") && !p.punct(">") && !p.punct(">>") && !p.punct("|") && p.peek().kind != tNewline && p.peek().kind != tEOF {
		args, err := p.exprListUntilEnd()
		if err != nil {
			return nil, err
		}
		// print (a, b) > "f": a parenthesised list is the argument list.
		if len(args) == 1 {
			if g, ok := args[0].(*groupExpr); ok {
				if list, ok := g.x.(*exprListGroup); ok {
					args = list.items
				}
			}
		}
		s.args = args
	}
	if p.punct(">") || p.punct(">>") {
		s.redir = p.advance().text
		p.noGT = false
		dest, err := p.concat()
		if err != nil {
			return nil, err
		}
		s.dest = dest
	} else if p.punct("|") {
		return nil, p.errf("output to a command (|) is not supported in the lab's awk")
	}
	if s.printf && len(s.args) == 0 {
		return nil, p.errf("printf: no format")
	}
	return s, nil
}

// exprListGroup is "(a, b)" in print or before "in".
type exprListGroup struct{ items []awkExpr }

func (p *awkParser) exprListUntilEnd() ([]awkExpr, error) {
	var out []awkExpr
	for {
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		out = append(out, x)
		if !p.punct(",") {
			return out, nil
		}
		p.advance()
		p.newlines()
	}
}

func (p *awkParser) exprList(end string) ([]awkExpr, error) {
	var out []awkExpr
	p.newlines()
	if p.punct(end) {
		p.advance()
		return out, nil
	}
	oldGT, oldIn := p.noGT, p.noIn
	p.noGT, p.noIn = false, false
	defer func() { p.noGT, p.noIn = oldGT, oldIn }()
	for {
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		out = append(out, x)
		p.newlines()
		if p.punct(end) {
			p.advance()
			return out, nil
		}
		if err := p.expect(","); err != nil {
			return nil, err
		}
		p.newlines()
	}
}
