package tomledit

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// Key is a TOML key, one element per part of a dotted key.
type Key []string

// ParseKey reads a dotted key as TOML writes one: `crio.runtime.workdir`,
// `crio.runtime.runtimes."my.runtime".runtime_path`.
func ParseKey(s string) (Key, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("empty key")
	}
	p := unstable.Parser{}
	p.Reset([]byte(s + " = 0"))
	if !p.NextExpression() {
		return nil, fmt.Errorf("key %q: %v", s, keyError(p.Error()))
	}
	e := p.Expression()
	if e.Kind != unstable.KeyValue {
		return nil, fmt.Errorf("key %q: not a key", s)
	}
	var k Key
	it := e.Key()
	for it.Next() {
		k = append(k, string(it.Node().Data))
	}
	if p.NextExpression() || p.Error() != nil {
		return nil, fmt.Errorf("key %q: a key is names joined by dots, like crio.runtime.default_runtime", s)
	}
	return k, nil
}

func keyError(err error) error {
	if err == nil {
		return errors.New("not a key")
	}
	return err
}

// String writes k as TOML does: bare parts where they may be bare, quoted
// ones otherwise.
func (k Key) String() string {
	parts := make([]string, len(k))
	for i, p := range k {
		parts[i] = keyPart(p)
	}
	return strings.Join(parts, ".")
}

func keyPart(p string) string {
	if p == "" {
		return `""`
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return quoteBasic(p)
		}
	}
	return p
}

// quoteBasic writes s as a TOML basic string.
func quoteBasic(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// hasPrefix reports whether p is a prefix of k (or k itself).
func (k Key) hasPrefix(p Key) bool {
	if len(p) > len(k) {
		return false
	}
	for i := range p {
		if k[i] != p[i] {
			return false
		}
	}
	return true
}

func (k Key) equal(o Key) bool { return len(k) == len(o) && k.hasPrefix(o) }
