// Package iniedit sets and removes options of an INI file in place, line
// by line, leaving every other line as it was: comments, blank lines,
// other options and their layout.
//
// The dialect is the common one (Python's configparser, Ansible's
// ini_file, systemd, php.ini, my.cnf): `[section]` headers, `option =
// value` or `option: value` lines, an option without a value (`skip-
// name-resolve`), comments starting with '#' or ';', and a value
// continued on lines indented deeper than its option. Options before the
// first header belong to the global section "".
package iniedit

import (
	"bytes"
	"fmt"
	"strings"
)

// Doc is an INI file being edited.
type Doc struct {
	lines []line
	nl    string
}

type lineKind int

const (
	blank lineKind = iota
	comment
	header
	option
	continuation
)

// line is one line of the file, its ending kept.
type line struct {
	text    string
	kind    lineKind
	section string // the section the line is in (a header: its own name)
	key     string // option lines
	value   string // option lines, trimmed
	indent  int
}

// ParseError is a line that is no INI, 1-based.
type ParseError struct {
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Parse reads an INI file; a *ParseError names the first line that is
// not INI (an unclosed header, an option without a name).
func Parse(src []byte) (*Doc, error) {
	d := &Doc{nl: "\n"}
	if i := bytes.IndexByte(src, '\n'); i > 0 && src[i-1] == '\r' {
		d.nl = "\r\n"
	}
	section := ""
	prevIndent := -1 // indentation of the option a deeper line continues
	for i, text := range splitLines(string(src)) {
		body := strings.TrimRight(text, "\r\n")
		trimmed := strings.TrimSpace(body)
		ln := line{text: text, section: section, indent: len(body) - len(strings.TrimLeft(body, " \t"))}
		switch {
		case trimmed == "":
			ln.kind = blank
		case prevIndent >= 0 && ln.indent > prevIndent:
			ln.kind = continuation
		case trimmed[0] == '#' || trimmed[0] == ';':
			ln.kind = comment
			prevIndent = -1
		case trimmed[0] == '[':
			name, err := headerName(trimmed)
			if err != nil {
				return nil, &ParseError{Line: i + 1, Msg: err.Error()}
			}
			section = name
			ln.kind, ln.section = header, name
			prevIndent = -1
		default:
			key, value, err := splitOption(trimmed)
			if err != nil {
				return nil, &ParseError{Line: i + 1, Msg: err.Error()}
			}
			ln.kind, ln.key, ln.value = option, key, value
			prevIndent = ln.indent
		}
		d.lines = append(d.lines, ln)
	}
	return d, nil
}

// headerName reads `[name]`, with an optional comment after it.
func headerName(s string) (string, error) {
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return "", fmt.Errorf("section header %q has no closing ]", s)
	}
	if rest := strings.TrimSpace(s[end+1:]); rest != "" && rest[0] != '#' && rest[0] != ';' {
		return "", fmt.Errorf("unexpected %q after the section header", rest)
	}
	name := strings.TrimSpace(s[1:end])
	if name == "" {
		return "", fmt.Errorf("empty section name")
	}
	return name, nil
}

// splitOption reads `key = value`, `key: value` or a bare `key`.
func splitOption(s string) (string, string, error) {
	i := strings.IndexAny(s, "=:")
	if i < 0 {
		return s, "", nil
	}
	key := strings.TrimSpace(s[:i])
	if key == "" {
		return "", "", fmt.Errorf("%q: an option needs a name before %q", s, s[i:i+1])
	}
	return key, strings.TrimSpace(s[i+1:]), nil
}

// splitLines cuts s into lines, each keeping its line ending.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	out := strings.SplitAfter(s, "\n")
	if out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// Bytes returns the file as edited so far.
func (d *Doc) Bytes() []byte {
	var b bytes.Buffer
	for _, ln := range d.lines {
		b.WriteString(ln.text)
	}
	return b.Bytes()
}

// HasSection reports whether the file has section (the global section ""
// always exists).
func (d *Doc) HasSection(section string) bool {
	if section == "" {
		return true
	}
	for _, ln := range d.lines {
		if ln.kind == header && ln.section == section {
			return true
		}
	}
	return false
}

// Value returns the value of the first option in section, and whether
// there is one.
func (d *Doc) Value(section, opt string) (string, bool) {
	for _, ln := range d.lines {
		if ln.kind == option && ln.section == section && ln.key == opt {
			return ln.value, true
		}
	}
	return "", false
}
