// Package tomledit sets and removes keys of a TOML document in place,
// leaving every other byte of it as it was: other keys, tables, comments,
// blank lines and layout. No maintained Go TOML library writes a document
// back with its comments, so the edits are made on the text, placed with
// the positions go-toml's parser (github.com/pelletier/go-toml/v2/unstable)
// reports, and each edit is proved by decoding the document before and
// after with go-toml: the result must hold exactly the old values with the
// one key changed, or the edit is refused.
package tomledit

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2"
)

// Doc is a TOML document being edited.
type Doc struct {
	src []byte
}

// ParseError is a document that is not valid TOML, at a 1-based line and
// column.
type ParseError struct {
	Line, Col int
	Msg       string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg) }

// Parse checks that src is a valid TOML document and returns it for
// editing; a *ParseError says where it is not.
func Parse(src []byte) (*Doc, error) {
	if _, err := decode(src); err != nil {
		return nil, err
	}
	return &Doc{src: bytes.Clone(src)}, nil
}

// Bytes returns the document as edited so far.
func (d *Doc) Bytes() []byte { return bytes.Clone(d.src) }

// decode decodes a document into plain maps, the form edits are proved in.
func decode(src []byte) (map[string]any, error) {
	m := map[string]any{}
	if err := toml.Unmarshal(src, &m); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, col := de.Position()
			return nil, &ParseError{Line: line, Col: col, Msg: strings.TrimPrefix(de.Error(), "toml: ")}
		}
		return nil, &ParseError{Line: 1, Col: 1, Msg: strings.TrimPrefix(err.Error(), "toml: ")}
	}
	return m, nil
}

// Set makes key hold value, and reports whether the document changed. A
// mapping value sets each of its keys (the table's other keys stay); any
// other value (a string, number, boolean, time, or a list) replaces the
// key's value where it is written, or is added to the key's table. A key
// inside an inline table or an array of tables is refused: such a value
// is written as one piece, and is set as a whole.
func (d *Doc) Set(key Key, value any) (bool, error) {
	if len(key) == 0 {
		return false, errors.New("empty key")
	}
	if m, ok := value.(map[string]any); ok {
		return d.setTable(key, m)
	}
	enc, want, err := encodeValue(value)
	if err != nil {
		return false, fmt.Errorf("%s: %w", key, err)
	}
	cur, err := decode(d.src)
	if err != nil {
		return false, err
	}
	old, found, err := lookup(cur, key)
	if err != nil {
		return false, err
	}
	if found && reflect.DeepEqual(old, want) {
		return false, nil
	}
	if _, isTable := old.(map[string]any); isTable {
		return false, fmt.Errorf("%s is a table: set the keys inside it, or unset it first", key)
	}
	expected := cloneMap(cur)
	setIn(expected, key, want)
	s := scan(d.src)
	for _, cand := range s.setCandidates(key, enc) {
		if got, err := decode(cand); err == nil && reflect.DeepEqual(got, expected) {
			d.src = cand
			return true, nil
		}
	}
	return false, s.cannotPlace(key)
}

// setTable sets each key of m under key; an empty m makes sure the table
// exists.
func (d *Doc) setTable(key Key, m map[string]any) (bool, error) {
	if len(m) == 0 {
		return d.ensureTable(key)
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	changed := false
	for _, k := range names {
		c, err := d.Set(append(key[:len(key):len(key)], k), m[k])
		if err != nil {
			return changed, err
		}
		changed = changed || c
	}
	return changed, nil
}

// ensureTable adds an empty table [key] unless key is a table already.
func (d *Doc) ensureTable(key Key) (bool, error) {
	cur, err := decode(d.src)
	if err != nil {
		return false, err
	}
	old, found, err := lookup(cur, key)
	if err != nil {
		return false, err
	}
	if _, isTable := old.(map[string]any); isTable {
		return false, nil
	}
	if found {
		return false, fmt.Errorf("%s holds a value, not a table: unset it first", key)
	}
	expected := cloneMap(cur)
	setIn(expected, key, map[string]any{})
	s := scan(d.src)
	cand := s.appendTable(key, "")
	if got, err := decode(cand); err == nil && reflect.DeepEqual(got, expected) {
		d.src = cand
		return true, nil
	}
	return false, s.cannotPlace(key)
}

// Unset removes key, a value or a whole table (its sub-tables and arrays
// of tables included), and reports whether the document changed. A key
// that is not there is no change.
func (d *Doc) Unset(key Key) (bool, error) {
	if len(key) == 0 {
		return false, errors.New("empty key")
	}
	cur, err := decode(d.src)
	if err != nil {
		return false, err
	}
	if _, found, err := lookup(cur, key); err != nil || !found {
		return false, nil
	}
	expected := cloneMap(cur)
	deleteIn(expected, key)
	s := scan(d.src)
	cand := s.removeKey(key)
	// A table that held only the key, made by its header alone, goes with
	// it: compare without empty tables.
	if got, err := decode(cand); err == nil && reflect.DeepEqual(pruneEmpty(got), pruneEmpty(expected)) {
		d.src = cand
		return true, nil
	}
	return false, s.cannotPlace(key)
}

// encodeValue writes v as a TOML value and returns the text and the value
// as a document holding it decodes (the form it is compared in).
func encodeValue(v any) (string, any, error) {
	text, err := valueText(v)
	if err != nil {
		return "", nil, err
	}
	back, err := decode([]byte("v = " + text + "\n"))
	if err != nil {
		return "", nil, fmt.Errorf("cannot write %T as a TOML value: %v", v, err)
	}
	return text, back["v"], nil
}

// valueText writes v as TOML: strings as basic strings (as configuration
// files mostly write them), lists and mappings inline, the other scalars
// as go-toml writes them.
func valueText(v any) (string, error) {
	switch t := v.(type) {
	case nil:
		return "", errors.New("no value (null): unset removes a key")
	case string:
		if !utf8.ValidString(t) {
			return "", errors.New("a TOML string must be valid UTF-8")
		}
		return quoteBasic(t), nil
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			s, err := valueText(e)
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	case map[string]any:
		names := make([]string, 0, len(t))
		for k := range t {
			if !utf8.ValidString(k) {
				return "", errors.New("a TOML key must be valid UTF-8")
			}
			names = append(names, k)
		}
		sort.Strings(names)
		parts := make([]string, len(names))
		for i, k := range names {
			s, err := valueText(t[k])
			if err != nil {
				return "", err
			}
			parts[i] = keyPart(k) + " = " + s
		}
		return "{" + strings.Join(parts, ", ") + "}", nil
	}
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(map[string]any{"v": v}); err != nil {
		return "", errors.New(strings.TrimPrefix(err.Error(), "toml: "))
	}
	text, ok := strings.CutPrefix(b.String(), "v = ")
	if !ok || strings.Contains(strings.TrimSuffix(text, "\n"), "\n") {
		return "", fmt.Errorf("cannot write %T as a TOML value", v)
	}
	return strings.TrimSuffix(text, "\n"), nil
}

// lookup finds key in m. It fails when a part of the key before its last
// holds a value that is not a table.
func lookup(m map[string]any, key Key) (any, bool, error) {
	var cur any = m
	for i, part := range key {
		switch t := cur.(type) {
		case map[string]any:
			v, ok := t[part]
			if !ok {
				return nil, false, nil
			}
			cur = v
		case []any:
			return nil, false, fmt.Errorf("%s is an array: a key inside it cannot be addressed", key[:i])
		default:
			return nil, false, fmt.Errorf("%s holds a value, not a table", key[:i])
		}
	}
	return cur, true, nil
}

func setIn(m map[string]any, key Key, v any) {
	for _, part := range key[:len(key)-1] {
		next, ok := m[part].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[part] = next
		}
		m = next
	}
	m[key[len(key)-1]] = v
}

func deleteIn(m map[string]any, key Key) {
	for _, part := range key[:len(key)-1] {
		next, ok := m[part].(map[string]any)
		if !ok {
			return
		}
		m = next
	}
	delete(m, key[len(key)-1])
}

// pruneEmpty returns m without its empty tables, at any depth.
func pruneEmpty(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			if v = pruneEmpty(sub); len(v.(map[string]any)) == 0 {
				continue
			}
		}
		out[k] = v
	}
	return out
}

// cloneMap copies the maps of a decoded document (the leaves are shared;
// nothing changes them).
func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			v = cloneMap(sub)
		}
		out[k] = v
	}
	return out
}
