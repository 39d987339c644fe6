package shell

// Expression parsing, from the lowest precedence (assignment, ?:) to the
// highest (grouping, $).

func isLvalue(x awkExpr) bool {
	switch x.(type) {
	case *varRef, *fieldRef, *indexRef:
		return true
	}
	return false
}

var assignOps = map[string]bool{"=": true, "+=": true, "-=": true, "*=": true, "/=": true, "%=": true, "^=": true}

func (p *awkParser) expr() (awkExpr, error) {
	lhs, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind == tPunct && assignOps[t.text] && isLvalue(lhs) {
		p.advance()
		p.newlines()
		rhs, err := p.expr()
		if err != nil {
			return nil, err
		}
		return &assignExpr{op: t.text, lhs: lhs, rhs: rhs}, nil
	}
	if p.punct("?") {
		p.advance()
		p.newlines()
		a, err := p.expr()
		if err != nil {
			return nil, err
		}
		p.newlines()
		if err := p.expect(":"); err != nil {
			return nil, err
		}
		p.newlines()
		b, err := p.expr()
		if err != nil {
			return nil, err
		}
		return &condExpr{c: lhs, a: a, b: b}, nil
	}
	return lhs, nil
}

func (p *awkParser) binaryLoop(next func() (awkExpr, error), ops ...string) (awkExpr, error) {
	l, err := next()
	if err != nil {
		return nil, err
	}
	for {
		matched := ""
		for _, op := range ops {
			if p.punct(op) {
				matched = op
				break
			}
		}
		if matched == "" {
			return l, nil
		}
		p.advance()
		if matched == "&&" || matched == "||" {
			p.newlines()
		}
		r, err := next()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{op: matched, l: l, r: r}
	}
}

func (p *awkParser) or() (awkExpr, error)  { return p.binaryLoop(p.and, "||") }
func (p *awkParser) and() (awkExpr, error) { return p.binaryLoop(p.in, "&&") }

func (p *awkParser) in() (awkExpr, error) {
	l, err := p.match()
	if err != nil {
		return nil, err
	}
	for p.kw("in") && !p.noIn {
		p.advance()
		t := p.advance()
		if t.kind != tName {
			return nil, p.errf("expected an array name after 'in'")
		}
		subs := []awkExpr{l}
		if g, ok := l.(*groupExpr); ok {
			if list, ok := g.x.(*exprListGroup); ok {
				subs = list.items
			}
		}
		l = &inExpr{subs: subs, arr: t.text}
	}
	return l, nil
}

func (p *awkParser) match() (awkExpr, error) {
	l, err := p.comparison()
	if err != nil {
		return nil, err
	}
	for p.punct("~") || p.punct("!~") {
		neg := p.advance().text == "!~"
		r, err := p.comparison()
		if err != nil {
			return nil, err
		}
		l = &matchExpr{neg: neg, l: l, re: r}
	}
	return l, nil
}

func (p *awkParser) comparison() (awkExpr, error) {
	l, err := p.concat()
	if err != nil {
		return nil, err
	}
	for _, op := range []string{"<", "<=", "!=", "==", ">=", ">"} {
		if p.punct(op) && !(op == ">" && p.noGT) {
			p.advance()
			r, err := p.concat()
			if err != nil {
				return nil, err
			}
			return &binaryExpr{op: op, l: l, r: r}, nil
		}
	}
	return l, nil
}

// startsConcat reports whether the next token can begin an operand of a
// concatenation.
func (p *awkParser) startsConcat() bool {
	t := p.peek()
	switch t.kind {
	case tNumber, tString, tRegex, tName, tFuncName, tBuiltin:
		return true
	case tPunct:
		return t.text == "$" || t.text == "("
	case tKeyword:
		return false
	}
	return false
}

func (p *awkParser) concat() (awkExpr, error) {
	l, err := p.additive()
	if err != nil {
		return nil, err
	}
	for p.startsConcat() && !(p.kw("in") && p.noIn) {
		r, err := p.additive()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{op: " ", l: l, r: r}
	}
	return l, nil
}

func (p *awkParser) additive() (awkExpr, error) { return p.binaryLoop(p.mul, "+", "-") }
func (p *awkParser) mul() (awkExpr, error)      { return p.binaryLoop(p.unary, "*", "/", "%") }

func (p *awkParser) unary() (awkExpr, error) {
	if p.punct("!") || p.punct("-") || p.punct("+") {
		op := p.advance().text
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &unaryExpr{op: op, x: x}, nil
	}
	return p.pow()
}

func (p *awkParser) pow() (awkExpr, error) {
	base, err := p.postfix()
	if err != nil {
		return nil, err
	}
	if p.punct("^") {
		p.advance()
		var exp awkExpr
		if p.punct("-") || p.punct("+") || p.punct("!") {
			exp, err = p.unary()
		} else {
			exp, err = p.pow()
		}
		if err != nil {
			return nil, err
		}
		return &binaryExpr{op: "^", l: base, r: exp}, nil
	}
	return base, nil
}

func (p *awkParser) postfix() (awkExpr, error) {
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	if (p.punct("++") || p.punct("--")) && isLvalue(x) {
		return &incDec{op: p.advance().text, lv: x}, nil
	}
	return x, nil
}

func (p *awkParser) primary() (awkExpr, error) {
	t := p.peek()
	switch t.kind {
	case tNumber:
		p.advance()
		return &numLit{v: t.num}, nil
	case tString:
		p.advance()
		return &strLit{v: t.str}, nil
	case tRegex:
		p.advance()
		re, err := posixRegexp(t.str, true, false)
		if err != nil {
			return nil, p.errf("%v", err)
		}
		return &regexLit{re: re}, nil
	case tName:
		p.advance()
		if p.punct("[") {
			p.advance()
			subs, err := p.exprList("]")
			if err != nil {
				return nil, err
			}
			if len(subs) == 0 {
				return nil, p.errf("empty subscript")
			}
			return &indexRef{name: t.text, subs: subs}, nil
		}
		return &varRef{name: t.text}, nil
	case tFuncName:
		p.advance()
		p.advance() // (
		args, err := p.exprList(")")
		if err != nil {
			return nil, err
		}
		return &callExpr{name: t.text, args: args}, nil
	case tBuiltin:
		p.advance()
		if !p.punct("(") {
			if t.text != "length" {
				return nil, p.errf("%s needs arguments", t.text)
			}
			return &callExpr{name: t.text, builtin: true}, nil
		}
		p.advance()
		args, err := p.exprList(")")
		if err != nil {
			return nil, err
		}
		return &callExpr{name: t.text, builtin: true, args: args}, nil
	case tKeyword:
		if t.text == "getline" {
			p.advance()
			g := &getlineExpr{}
			if pt := p.peek(); pt.kind == tName || pt.kind == tPunct && pt.text == "$" {
				lv, err := p.primary()
				if err != nil {
					return nil, err
				}
				g.lv = lv
			}
			if p.punct("<") {
				p.advance()
				f, err := p.primary()
				if err != nil {
					return nil, err
				}
				g.file = f
			}
			return g, nil
		}
	case tPunct:
		switch t.text {
		case "$":
			p.advance()
			var idx awkExpr
			var err error
			if p.punct("++") || p.punct("--") {
				op := p.advance().text
				lv, err := p.primary()
				if err != nil {
					return nil, err
				}
				if !isLvalue(lv) {
					return nil, p.errf("%s needs a variable", op)
				}
				idx = &incDec{pre: true, op: op, lv: lv}
			} else if p.punct("-") || p.punct("+") || p.punct("!") {
				idx, err = p.unary()
			} else {
				idx, err = p.primary()
			}
			if err != nil {
				return nil, err
			}
			return &fieldRef{idx: idx}, nil
		case "++", "--":
			p.advance()
			lv, err := p.primary()
			if err != nil {
				return nil, err
			}
			if !isLvalue(lv) {
				return nil, p.errf("%s needs a variable", t.text)
			}
			return &incDec{pre: true, op: t.text, lv: lv}, nil
		case "(":
			p.advance()
			oldGT, oldIn := p.noGT, p.noIn
			p.noGT, p.noIn = false, false
			defer func() { p.noGT, p.noIn = oldGT, oldIn }()
			p.newlines()
			x, err := p.expr()
			if err != nil {
				return nil, err
			}
			p.newlines()
			if p.punct(",") {
				items := []awkExpr{x}
				for p.punct(",") {
					p.advance()
					p.newlines()
					y, err := p.expr()
					if err != nil {
						return nil, err
					}
					items = append(items, y)
					p.newlines()
				}
				if err := p.expect(")"); err != nil {
					return nil, err
				}
				return &groupExpr{x: &exprListGroup{items: items}}, nil
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
			return &groupExpr{x: x}, nil
		case "-", "+", "!":
			return p.unary()
		}
	}
	if t.kind == tEOF {
		return nil, p.errf("unexpected end of program")
	}
	if t.kind == tNewline {
		return nil, p.errf("unexpected newline")
	}
	return nil, p.errf("unexpected '%s'", t.text+t.str)
}
