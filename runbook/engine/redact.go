package engine

import (
	"strings"
	"sync"

	"github.com/runbookhq/runbook/runbook"
)

// OutputCap is the most of each stream of a step that is kept (SPEC §9).
const OutputCap = 64 << 10

const redacted = "********"

// Redactor replaces secret values with ********.
type Redactor struct {
	secrets []string
	r       *strings.Replacer
}

// NewRedactor redacts the given values (empty ones are ignored; longer ones
// first so that one secret inside another is still hidden whole).
func NewRedactor(secrets []string) *Redactor {
	var s []string
	for _, v := range secrets {
		if v != "" && !containsString(s, v) {
			s = append(s, v)
		}
	}
	// Longest first.
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && len(s[j]) > len(s[j-1]); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	rd := &Redactor{secrets: s}
	if len(s) > 0 {
		pairs := make([]string, 0, 2*len(s))
		for _, v := range s {
			pairs = append(pairs, v, redacted)
		}
		rd.r = strings.NewReplacer(pairs...)
	}
	return rd
}

// String redacts s.
func (rd *Redactor) String(s string) string {
	if rd == nil || rd.r == nil {
		return s
	}
	return rd.r.Replace(s)
}

// hasSecrets reports whether there is anything to redact.
func (rd *Redactor) hasSecrets() bool { return rd != nil && len(rd.secrets) > 0 }

// Contains reports whether s holds a secret.
func (rd *Redactor) Contains(s string) bool {
	if rd == nil {
		return false
	}
	for _, v := range rd.secrets {
		if strings.Contains(s, v) {
			return true
		}
	}
	return false
}

// Value redacts the strings inside v (maps and lists as decoded from JSON or
// YAML).
func (rd *Redactor) Value(v any) any {
	if rd == nil || rd.r == nil {
		return v
	}
	switch x := v.(type) {
	case string:
		return rd.String(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = rd.Value(e)
		}
		return out
	case []string:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = rd.String(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = rd.Value(e)
		}
		return out
	case map[string]string:
		out := make(map[string]string, len(x))
		for k, e := range x {
			out[k] = rd.String(e)
		}
		return out
	case bool, int, int64, uint64, float64:
		// A number or a bool that prints as a secret is one.
		if text := runbook.Stringify(v); rd.String(text) != text {
			return rd.String(text)
		}
	}
	return v
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// captureSlack is kept beyond OutputCap so that a secret straddling the cap
// is still whole when it is redacted; the text is cut to OutputCap after.
const captureSlack = 4096

// capture keeps the first OutputCap+captureSlack bytes of a stream and
// counts the rest.
type capture struct {
	mu    sync.Mutex
	buf   []byte
	total int64
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total += int64(len(p))
	if room := OutputCap + captureSlack - len(c.buf); room > 0 {
		if len(p) < room {
			room = len(p)
		}
		c.buf = append(c.buf, p[:room]...)
	}
	return len(p), nil
}

// Text returns the output redacted and cut to OutputCap, and whether it was
// cut.
func (c *capture) Text(rd *Redactor) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := rd.String(string(c.buf))
	cut := c.total > int64(len(c.buf))
	if len(s) > OutputCap {
		s, cut = s[:OutputCap], true
	}
	return s, cut
}
