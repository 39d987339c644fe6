package inventory

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// globRegexp translates a shell glob as Python's fnmatch does: `*`, `?`,
// `[seq]` and `[!seq]`; a `[` without its `]` is literal.
func globRegexp(glob string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString(`^(?:`)
	for i := 0; i < len(glob); {
		c := glob[i]
		switch c {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		case '[':
			j := i + 1
			if j < len(glob) && glob[j] == '!' {
				j++
			}
			if j < len(glob) && glob[j] == ']' {
				j++
			}
			for j < len(glob) && glob[j] != ']' {
				j++
			}
			if j >= len(glob) {
				b.WriteString(`\[`)
				break
			}
			class := glob[i+1 : j]
			b.WriteByte('[')
			if strings.HasPrefix(class, "!") {
				b.WriteByte('^')
				class = class[1:]
			}
			for _, r := range class {
				if strings.ContainsRune(`\[]^`, r) {
					b.WriteByte('\\')
				}
				b.WriteRune(r)
			}
			b.WriteByte(']')
			i = j + 1
			continue
		default:
			_, size := utf8.DecodeRuneInString(glob[i:])
			b.WriteString(regexp.QuoteMeta(glob[i : i+size]))
			i += size
			continue
		}
		i++
	}
	b.WriteString(`)$`)
	return regexp.Compile(b.String())
}
