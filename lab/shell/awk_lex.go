package shell

import (
	"fmt"
	"strconv"
	"strings"
)

// awkTok is one token kind of the awk language.
type awkTok int

const (
	tEOF awkTok = iota
	tNewline
	tNumber
	tString
	tRegex
	tName
	tFuncName // a name directly followed by "("
	tBuiltin
	tKeyword
	tPunct
)

type awkToken struct {
	kind awkTok
	text string // punctuation, names, keywords, raw literal text
	num  float64
	str  string // decoded string or regex source
	line int
}

var awkKeywords = map[string]bool{
	"BEGIN": true, "END": true, "function": true, "func": true, "if": true, "else": true, "while": true, "for": true,
	"do": true, "break": true, "continue": true, "next": true, "nextfile": true, "exit": true, "return": true,
	"delete": true, "in": true, "getline": true, "print": true, "printf": true,
}

var awkBuiltins = map[string]bool{
	"length": true, "substr": true, "index": true, "split": true, "sub": true, "gsub": true, "match": true,
	"sprintf": true, "tolower": true, "toupper": true, "int": true, "sqrt": true, "exp": true, "log": true,
	"sin": true, "cos": true, "atan2": true, "rand": true, "srand": true, "system": true, "close": true, "fflush": true,
}

// awkPuncts are the operators, longest first.
var awkPuncts = []string{
	"**=", "+=", "-=", "*=", "/=", "%=", "^=", "==", "<=", ">=", "!=", "!~", "++", "--", "&&", "||", ">>", "**",
	"{", "}", "(", ")", "[", "]", ";", ",", "+", "-", "*", "/", "%", "^", "!", ">", "<", "|", "?", ":", "~", "$", "=",
}

type awkLexer struct {
	src  string
	i    int
	line int
	last *awkToken
}

// regexAllowed reports whether a "/" here starts a regular expression
// rather than a division: after an operand it divides.
func (l *awkLexer) regexAllowed() bool {
	if l.last == nil {
		return true
	}
	switch l.last.kind {
	case tNumber, tString, tName, tBuiltin, tRegex:
		return false
	case tPunct:
		return l.last.text != ")" && l.last.text != "]" && l.last.text != "$" && l.last.text != "++" && l.last.text != "--"
	case tKeyword:
		return l.last.text != "getline"
	}
	return true
}

func (l *awkLexer) errf(format string, a ...any) error {
	return fmt.Errorf("syntax error at source line %d: %s", l.line, fmt.Sprintf(format, a...))
}

func (l *awkLexer) all() ([]awkToken, error) {
	l.line = 1
	var toks []awkToken
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
		l.last = &toks[len(toks)-1]
		if t.kind == tEOF {
			return toks, nil
		}
	}
}

func (l *awkLexer) next() (awkToken, error) {
	for l.i < len(l.src) {
		ch := l.src[l.i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\r':
			l.i++
		case ch == '\\' && l.i+1 < len(l.src) && l.src[l.i+1] == '\n':
			l.i += 2
			l.line++
		case ch == '\\' && l.i+2 < len(l.src) && l.src[l.i+1] == '\r' && l.src[l.i+2] == '\n':
			l.i += 3
			l.line++
		case ch == '#':
			for l.i < len(l.src) && l.src[l.i] != '\n' {
				l.i++
			}
		default:
			goto token
		}
	}
	return awkToken{kind: tEOF, line: l.line}, nil
token:
	ch := l.src[l.i]
	start := l.i
	switch {
	case ch == '\n':
		l.i++
		l.line++
		return awkToken{kind: tNewline, text: "\n", line: l.line - 1}, nil
	case ch == '"':
		s, err := l.quoted('"')
		return awkToken{kind: tString, str: s, line: l.line}, err
	case ch == '/' && l.regexAllowed():
		s, err := l.quoted('/')
		return awkToken{kind: tRegex, str: s, line: l.line}, err
	case isDigit(ch) || ch == '.' && l.i+1 < len(l.src) && isDigit(l.src[l.i+1]):
		for l.i < len(l.src) && (isDigit(l.src[l.i]) || l.src[l.i] == '.') {
			l.i++
		}
		if l.i < len(l.src) && (l.src[l.i] == 'e' || l.src[l.i] == 'E') {
			j := l.i + 1
			if j < len(l.src) && (l.src[j] == '+' || l.src[j] == '-') {
				j++
			}
			if j < len(l.src) && isDigit(l.src[j]) {
				l.i = j
				for l.i < len(l.src) && isDigit(l.src[l.i]) {
					l.i++
				}
			}
		}
		text := l.src[start:l.i]
		n, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return awkToken{}, l.errf("bad number %q", text)
		}
		return awkToken{kind: tNumber, num: n, text: text, line: l.line}, nil
	case ch == '_' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z':
		for l.i < len(l.src) && (l.src[l.i] == '_' || isDigit(l.src[l.i]) || l.src[l.i] >= 'a' && l.src[l.i] <= 'z' || l.src[l.i] >= 'A' && l.src[l.i] <= 'Z') {
			l.i++
		}
		word := l.src[start:l.i]
		switch {
		case awkKeywords[word]:
			return awkToken{kind: tKeyword, text: word, line: l.line}, nil
		case awkBuiltins[word]:
			return awkToken{kind: tBuiltin, text: word, line: l.line}, nil
		case l.i < len(l.src) && l.src[l.i] == '(':
			return awkToken{kind: tFuncName, text: word, line: l.line}, nil
		}
		return awkToken{kind: tName, text: word, line: l.line}, nil
	}
	for _, p := range awkPuncts {
		if strings.HasPrefix(l.src[l.i:], p) {
			l.i += len(p)
			if p == "**" {
				p = "^"
			} else if p == "**=" {
				p = "^="
			}
			return awkToken{kind: tPunct, text: p, line: l.line}, nil
		}
	}
	return awkToken{}, l.errf("unexpected character '%c'", ch)
}

// quoted reads a string or regex literal ending with delim. String escapes
// are decoded; in a regex only "\/" is, the rest is left to the regex.
func (l *awkLexer) quoted(delim byte) (string, error) {
	l.i++
	var b strings.Builder
	inBracket := false
	for l.i < len(l.src) {
		ch := l.src[l.i]
		l.i++
		switch {
		case ch == '\n':
			return "", l.errf("newline in %s", map[byte]string{'"': "string", '/': "regex"}[delim])
		case ch == '\\' && l.i < len(l.src):
			n := l.src[l.i]
			l.i++
			if delim == '/' {
				if n == '/' {
					b.WriteByte('/')
				} else {
					b.WriteByte('\\')
					b.WriteByte(n)
				}
				continue
			}
			switch n {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '\\':
				b.WriteByte('\\')
			case '"':
				b.WriteByte('"')
			case '/':
				b.WriteByte('/')
			case 'a':
				b.WriteByte(7)
			case 'b':
				b.WriteByte(8)
			case 'f':
				b.WriteByte(12)
			case 'v':
				b.WriteByte(11)
			case '\n':
				l.line++
			default:
				if n >= '0' && n <= '7' {
					v := int(n - '0')
					for k := 0; k < 2 && l.i < len(l.src) && l.src[l.i] >= '0' && l.src[l.i] <= '7'; k++ {
						v = v*8 + int(l.src[l.i]-'0')
						l.i++
					}
					b.WriteByte(byte(v))
				} else {
					b.WriteByte('\\')
					b.WriteByte(n)
				}
			}
		case delim == '/' && ch == '[':
			inBracket = true
			b.WriteByte(ch)
		case delim == '/' && ch == ']' && inBracket:
			inBracket = false
			b.WriteByte(ch)
		case ch == delim && !inBracket:
			return b.String(), nil
		default:
			b.WriteByte(ch)
		}
	}
	return "", l.errf("unterminated %s", map[byte]string{'"': "string", '/': "regex"}[delim])
}
