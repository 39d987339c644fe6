package inventory

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/runbookhq/runbook/runbook/diag"
	"gopkg.in/yaml.v3"
)

// iniToken is one word of an INI line, split as Python's shlex does in POSIX
// mode (which is what Ansible uses): quotes group and are removed, a
// backslash escapes, and `#` at the start of a word begins a comment.
type iniToken struct {
	text   string
	col    int  // 1-based column of the token's first character
	quoted bool // some part of it was quoted
	end    int  // byte offset just past the token in the line
}

// tokenError is a tokenizing problem at a column of the line.
type tokenError struct {
	col int
	msg string
}

func (e *tokenError) Error() string { return e.msg }

// errorAt places err (from tokenize) on line at.
func errorAt(line pos, err error) error {
	if te, ok := err.(*tokenError); ok {
		line.col = te.col
	}
	return line.errorf("%v", err)
}

// tokenize splits line, whose first character is at column col.
func tokenize(line string, col int) ([]iniToken, error) {
	var (
		out   []iniToken
		cur   strings.Builder
		in    bool // inside a token
		tok   iniToken
		quote rune // the open quote, or 0
		qcol  int
	)
	flush := func(end int) {
		if in {
			tok.text, tok.end = cur.String(), end
			out = append(out, tok)
		}
		cur.Reset()
		in = false
	}
	c := col - 1
	for i := 0; i < len(line); {
		r, size := utf8.DecodeRuneInString(line[i:])
		c++
		switch {
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case quote == '"':
			switch {
			case r == '"':
				quote = 0
			case r == '\\' && i+1 < len(line) && strings.ContainsRune(`"\$`+"`", rune(line[i+1])):
				cur.WriteByte(line[i+1])
				i += size + 1
				c++
				continue
			default:
				cur.WriteRune(r)
			}
		case r == ' ' || r == '\t':
			flush(i)
		case r == '#' && !in:
			flush(i)
			return out, nil
		default:
			if !in {
				in, tok = true, iniToken{col: c}
			}
			switch r {
			case '\'', '"':
				quote, qcol, tok.quoted = r, c, true
			case '\\':
				if i+1 < len(line) {
					r2, s2 := utf8.DecodeRuneInString(line[i+1:])
					cur.WriteRune(r2)
					i += size + s2
					c++
					continue
				}
				cur.WriteRune(r)
			default:
				cur.WriteRune(r)
			}
		}
		i += size
	}
	if quote != 0 {
		return nil, &tokenError{col: qcol, msg: fmt.Sprintf("unterminated %c quote", quote)}
	}
	flush(len(line))
	return out, nil
}

var (
	iniInt   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[-+]?(0|[1-9][0-9]*)$`) })
	iniFloat = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$|^[-+]?[0-9]+[eE][-+]?[0-9]+$`)
	})
)

// iniValue types an INI value as Ansible does for the common cases:
// unquoted integers, floats, true/false (also True/False) and None; `[...]`
// and `{...}` are lists and mappings (read as YAML flow, which also takes
// Python's literal syntax for them). A quoted value stays a string, and so
// does a `{{ template }}`.
func iniValue(s string, quoted bool) any {
	if strings.HasPrefix(s, "{{") {
		return s
	}
	if strings.HasPrefix(s, "[") || strings.HasPrefix(s, "{") {
		if v, ok := flowValue(s); ok {
			return v
		}
		return s
	}
	if quoted {
		return s
	}
	switch s {
	case "true", "True":
		return true
	case "false", "False":
		return false
	case "None":
		return nil
	}
	if iniInt().MatchString(s) {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n == int64(int(n)) {
			return int(n)
		}
		return s
	}
	if iniFloat().MatchString(s) {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
	}
	return s
}

// flowValue reads a YAML flow list or mapping.
func flowValue(s string) (any, bool) {
	if len(s) > 1<<16 {
		return nil, false
	}
	var errs diag.List
	r := newYAMLReader("", &errs)
	root := r.document([]byte(s))
	if root == nil || root.Kind != yaml.MappingNode && root.Kind != yaml.SequenceNode {
		return nil, false
	}
	v, ok := r.value(root)
	if !ok || errs.Len() > 0 {
		return nil, false
	}
	return v, true
}
