package tomledit

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/pelletier/go-toml/v2/unstable"
)

// layout is where a document's tables and keys are written.
type layout struct {
	src      []byte
	nl       string // the document's line ending
	sections []*section
	keyvals  []keyval
}

// section is the root table or one [table] / [[array table]] header with
// the key-value lines that follow it.
type section struct {
	path       Key
	array      bool
	headerFrom int // start of the header line (0 for the root)
	headerTo   int // end of the header line, its newline included
	lastKVTo   int // end of the last key-value line (headerTo when none)
	indent     string
	hasKV      bool
}

// keyval is one `key = value` line (or lines, for a multi-line value).
type keyval struct {
	path      Key // full key: the section's path and the dotted key
	sec       *section
	line      int // 1-based line of the key
	from, to  int // the whole line(s), newline included
	valueFrom int
	valueTo   int
}

// scan reads where the tables and keys of a valid document are.
func scan(src []byte) *layout {
	l := &layout{src: src, nl: "\n"}
	if i := bytes.IndexByte(src, '\n'); i > 0 && src[i-1] == '\r' {
		l.nl = "\r\n"
	}
	root := &section{}
	l.sections = append(l.sections, root)
	cur := root
	var p unstable.Parser
	p.Reset(src)
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			path, first, last := keyOf(e.Key())
			cur = &section{path: path, array: e.Kind == unstable.ArrayTable,
				headerFrom: l.lineStart(first), headerTo: l.lineEnd(last)}
			cur.lastKVTo = cur.headerTo
			l.sections = append(l.sections, cur)
		case unstable.KeyValue:
			dotted, first, last := keyOf(e.Key())
			kv := keyval{path: append(append(Key{}, cur.path...), dotted...), sec: cur,
				line: bytes.Count(src[:first], []byte("\n")) + 1, from: l.lineStart(first)}
			end := int(e.Raw.Offset + e.Raw.Length)
			kv.to = l.lineEnd(end)
			kv.valueFrom = valueStart(src, last)
			kv.valueTo = end
			if !cur.hasKV {
				cur.indent = string(src[kv.from:first])
				cur.hasKV = true
			}
			cur.lastKVTo = kv.to
			l.keyvals = append(l.keyvals, kv)
		}
	}
	return l
}

// keyOf returns a key's parts and the offsets where it starts and ends.
func keyOf(it unstable.Iterator) (Key, int, int) {
	var k Key
	first, last := -1, 0
	for it.Next() {
		n := it.Node()
		k = append(k, string(n.Data))
		if first < 0 {
			first = int(n.Raw.Offset)
		}
		last = int(n.Raw.Offset + n.Raw.Length)
	}
	return k, first, last
}

// valueStart is where the value of a key-value starts, the key ending at
// keyEnd: after the '=' and the blanks around it.
func valueStart(src []byte, keyEnd int) int {
	i := keyEnd
	for i < len(src) && (src[i] == ' ' || src[i] == '\t') {
		i++
	}
	if i < len(src) && src[i] == '=' {
		i++
	}
	for i < len(src) && (src[i] == ' ' || src[i] == '\t') {
		i++
	}
	return i
}

func (l *layout) lineStart(off int) int {
	return bytes.LastIndexByte(l.src[:off], '\n') + 1
}

// lineEnd is the end of the line holding off, its newline included.
func (l *layout) lineEnd(off int) int {
	if i := bytes.IndexByte(l.src[off:], '\n'); i >= 0 {
		return off + i + 1
	}
	return len(l.src)
}

// splice returns the document with src[from:to] replaced by text.
func (l *layout) splice(from, to int, text string) []byte {
	out := make([]byte, 0, len(l.src)-(to-from)+len(text))
	out = append(out, l.src[:from]...)
	out = append(out, text...)
	return append(out, l.src[to:]...)
}

// insertLine inserts one line at off, a line boundary (or the end of a
// document whose last line has no newline).
func (l *layout) insertLine(off int, line string) []byte {
	if off == len(l.src) && off > 0 && l.src[off-1] != '\n' {
		line = l.nl + line
	}
	return l.splice(off, off, line+l.nl)
}

// setCandidates are the documents that could set key to the value written
// enc, in order of preference: the value replaced where it is written; a
// line added to the key's table; a dotted key added to the nearest table
// above it; a new [table] at the end. The caller keeps the first that
// decodes to what it expects.
func (l *layout) setCandidates(key Key, enc string) [][]byte {
	var out [][]byte
	for _, kv := range l.keyvals {
		if kv.path.equal(key) && !kv.sec.array {
			out = append(out, l.splice(kv.valueFrom, kv.valueTo, enc))
		}
	}
	table, name := key[:len(key)-1], key[len(key)-1:]
	if len(table) == 0 {
		line := l.sections[0].indent + name.String() + " = " + enc
		if !l.sections[0].hasKV && len(l.sections) > 1 {
			line += l.nl // a blank line before the first table
		}
		return append(out, l.insertLine(l.rootInsertPoint(), line))
	}
	// The key's own table, and the tables written above it whose keys
	// already reach toward it with dotted keys (a table so defined takes
	// no [header]), nearest first.
	var above []*section
	for _, s := range l.sections {
		if !s.array && table.hasPrefix(s.path) && (s.path.equal(table) || l.dottedToward(s, key)) {
			above = append(above, s)
		}
	}
	sort.SliceStable(above, func(i, j int) bool { return len(above[i].path) > len(above[j].path) })
	for _, s := range above {
		at := s.lastKVTo
		if len(s.path) == 0 {
			at = l.rootInsertPoint()
		}
		out = append(out, l.insertLine(at, s.indent+key[len(s.path):].String()+" = "+enc))
	}
	return append(out, l.appendTable(table, name.String()+" = "+enc))
}

// dottedToward reports whether a key of s is a dotted key into the table
// of key just below s.
func (l *layout) dottedToward(s *section, key Key) bool {
	below := key[:len(s.path)+1]
	for _, kv := range l.keyvals {
		if kv.sec == s && len(kv.path) > len(below) && kv.path.hasPrefix(below) {
			return true
		}
	}
	return false
}

// appendTable is the document with a new [table] at its end, holding line
// when it is not "".
func (l *layout) appendTable(table Key, line string) []byte {
	var b bytes.Buffer
	b.Write(l.src)
	if len(l.src) > 0 {
		if l.src[len(l.src)-1] != '\n' {
			b.WriteString(l.nl)
		}
		b.WriteString(l.nl)
	}
	b.WriteString("[" + table.String() + "]" + l.nl)
	if line != "" {
		b.WriteString(line + l.nl)
	}
	return b.Bytes()
}

// rootInsertPoint is where a new key of the root table goes: after its
// last key, else before the comments that lead the first table header,
// else at the end.
func (l *layout) rootInsertPoint() int {
	root := l.sections[0]
	if root.hasKV {
		return root.lastKVTo
	}
	if len(l.sections) == 1 {
		return len(l.src)
	}
	at := l.sections[1].headerFrom
	for at > 0 {
		prev := l.lineStart(at - 1)
		line := bytes.TrimSpace(l.src[prev:at])
		if len(line) == 0 || line[0] != '#' {
			break
		}
		at = prev
	}
	return at
}

// removeKey is the document without key: its key-value line, or, for a
// table, every header and key-value line that defines a key under it.
func (l *layout) removeKey(key Key) []byte {
	type span struct{ from, to int }
	var cut []span
	removed := map[*section]bool{}
	for _, s := range l.sections {
		if len(s.path) > 0 && s.path.hasPrefix(key) {
			removed[s] = true
			cut = append(cut, span{s.headerFrom, l.skipBlankLines(s.lastKVTo)})
		}
	}
	for _, kv := range l.keyvals {
		if kv.path.hasPrefix(key) && !removed[kv.sec] {
			cut = append(cut, span{kv.from, kv.to})
		}
	}
	sort.Slice(cut, func(i, j int) bool { return cut[i].from > cut[j].from })
	out := bytes.Clone(l.src)
	for _, c := range cut {
		out = append(out[:c.from], out[c.to:]...)
	}
	return out
}

// skipBlankLines moves off past the blank lines that follow it.
func (l *layout) skipBlankLines(off int) int {
	for off < len(l.src) {
		end := l.lineEnd(off)
		if len(bytes.TrimSpace(l.src[off:end])) > 0 {
			break
		}
		off = end
	}
	return off
}

// cannotPlace explains why no edit could change key alone.
func (l *layout) cannotPlace(key Key) error {
	for _, kv := range l.keyvals {
		if key.hasPrefix(kv.path) && !kv.path.equal(key) {
			return fmt.Errorf("%s is inside the value of %s (line %d), an inline table or array: set %s as a whole", key, kv.path, kv.line, kv.path)
		}
	}
	for _, s := range l.sections {
		if s.array && key.hasPrefix(s.path) {
			return fmt.Errorf("%s is inside the array of tables [[%s]]: its tables are not addressed by key", key, s.path)
		}
	}
	return fmt.Errorf("%s cannot be changed without changing other keys of the file", key)
}
