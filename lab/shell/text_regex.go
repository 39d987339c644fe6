package shell

import (
	"fmt"
	"regexp"
	"strings"
)

// posixRegexp compiles a POSIX basic (ere false) or extended regular
// expression with Go's RE2 engine. GNU extensions \w \W \s \S \b \< \> are
// kept; back-references are refused (RE2 has none).
func posixRegexp(pat string, ere, fold bool) (*regexp.Regexp, error) {
	conv, err := convertPOSIX(pat, ere)
	if err != nil {
		return nil, err
	}
	if fold {
		conv = "(?i)" + conv
	}
	re, err := regexp.Compile(conv)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression '%s': %v", pat, errReason(err))
	}
	return re, nil
}

func errReason(err error) string {
	s := err.Error()
	if i := strings.Index(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

// convertPOSIX rewrites a POSIX regular expression in Go syntax.
func convertPOSIX(pat string, ere bool) (string, error) {
	var b strings.Builder
	// atStart says a '*' here would be literal (start of an expression).
	atStart := true
	for i := 0; i < len(pat); i++ {
		ch := pat[i]
		switch {
		case ch == '\\' && i+1 < len(pat):
			i++
			n := pat[i]
			switch {
			case n >= '1' && n <= '9':
				return "", fmt.Errorf("back-references (\\%c) are not supported in the lab", n)
			case !ere && strings.IndexByte("(){}|+?", n) >= 0:
				b.WriteByte(n)
				atStart = n == '(' || n == '|'
				continue
			case n == '<' || n == '>':
				b.WriteString(`\b`)
			case strings.IndexByte("wWsSbB", n) >= 0:
				b.WriteByte('\\')
				b.WriteByte(n)
			case n == 'n':
				b.WriteString(`\n`)
			case n == 't':
				b.WriteString(`\t`)
			case n == '`':
				b.WriteString(`\A`)
			case n == '\'':
				b.WriteString(`\z`)
			default:
				b.WriteString(regexp.QuoteMeta(string(n)))
			}
		case ch == '\\':
			b.WriteString(`\\`)
		case ch == '[':
			end, cls := bracket(pat, i)
			if end < 0 {
				return "", fmt.Errorf("unmatched [, [^, [:, [., or [=")
			}
			b.WriteString(cls)
			i = end
		case !ere && strings.IndexByte("(){}|+?", ch) >= 0:
			b.WriteByte('\\')
			b.WriteByte(ch)
		case ch == '*' && atStart:
			b.WriteString(`\*`)
		case ere && ch == '{' && !validInterval(pat[i:]):
			b.WriteString(`\{`)
		default:
			b.WriteByte(ch)
		}
		atStart = ch == '^' && i == 0 || ere && (ch == '(' || ch == '|')
	}
	return b.String(), nil
}

// validInterval reports whether s starts with a {n}, {n,} or {n,m} interval.
func validInterval(s string) bool {
	end := strings.IndexByte(s, '}')
	if end < 2 {
		return false
	}
	body := s[1:end]
	lo, hi, _ := strings.Cut(body, ",")
	allDigits := func(x string) bool {
		for i := 0; i < len(x); i++ {
			if !isDigit(x[i]) {
				return false
			}
		}
		return true
	}
	return lo != "" && allDigits(lo) && allDigits(hi)
}

// bracket copies a POSIX bracket expression starting at pat[i] == '[' into
// Go syntax; backslashes inside it are literal in POSIX.
func bracket(pat string, i int) (int, string) {
	var b strings.Builder
	b.WriteByte('[')
	j := i + 1
	if j < len(pat) && pat[j] == '^' {
		b.WriteByte('^')
		j++
	}
	if j < len(pat) && pat[j] == ']' {
		b.WriteString(`\]`)
		j++
	}
	for ; j < len(pat); j++ {
		switch c := pat[j]; {
		case c == ']':
			b.WriteByte(']')
			return j, b.String()
		case c == '[' && j+1 < len(pat) && (pat[j+1] == ':' || pat[j+1] == '.' || pat[j+1] == '='):
			close := strings.Index(pat[j+2:], string(pat[j+1])+"]")
			if close < 0 {
				return -1, ""
			}
			seg := pat[j : j+2+close+2]
			if pat[j+1] == ':' {
				b.WriteString(seg)
			} else {
				b.WriteString(regexp.QuoteMeta(pat[j+2 : j+2+close]))
			}
			j += 2 + close + 1
		case c == '\\':
			b.WriteString(`\\`)
		case c == '[':
			b.WriteString(`\[`)
		default:
			b.WriteByte(c)
		}
	}
	return -1, ""
}
