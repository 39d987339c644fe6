package journal

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendRecord appends r as encoding/json would marshal it, byte for byte,
// without its reflection: a journal writes two records per step, on the
// engine's path. The code for the fields follows from the Record struct
// (recordgen writes it into record_gen.go: in the struct's order, by its
// omitempty tags); Data, whose values may be of any type, goes through
// json.Marshal. A record whose time is not UTC or lies outside years
// 0–9999 (which json.Marshal may refuse) is left to json.Marshal, error
// included. encode_test.go holds the two to the same bytes.
func appendRecord(b []byte, r *Record) ([]byte, error) {
	if y := r.Time.Year(); y < 0 || y > 9999 || r.Time.Location() != time.UTC {
		rc := *r // a copy, so that r itself never escapes to the heap
		line, err := json.Marshal(&rc)
		return append(b, line...), err
	}
	return appendFields(b, r)
}

// The appenders of record_gen.go: key is the field's JSON key with its
// leading comma and colon. The ones named ...Field leave an empty value out.

func appendKeyString(b []byte, key, v string) []byte {
	return appendString(append(b, key...), v)
}

func appendKeyInt(b []byte, key string, v int64) []byte {
	return strconv.AppendInt(append(b, key...), v, 10)
}

func timeField(b []byte, key string, t time.Time) []byte {
	b = append(append(b, key...), '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

func strField(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	return appendString(append(b, key...), v)
}

func intField(b []byte, key string, v int64) []byte {
	if v == 0 {
		return b
	}
	return strconv.AppendInt(append(b, key...), v, 10)
}

func intPtrField(b []byte, key string, v *int) []byte {
	if v == nil {
		return b
	}
	return strconv.AppendInt(append(b, key...), int64(*v), 10)
}

// boolField appends keyTrue, the key with its value true, when v is.
func boolField(b []byte, keyTrue string, v bool) []byte {
	if !v {
		return b
	}
	return append(b, keyTrue...)
}

func listField(b []byte, key string, list []string) []byte {
	if len(list) == 0 {
		return b
	}
	b = append(append(b, key...), '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// anyField appends a map of values of any type as json.Marshal does.
func anyField(b []byte, key string, m map[string]any) ([]byte, error) {
	if len(m) == 0 {
		return b, nil
	}
	data, err := json.Marshal(m)
	if err != nil {
		return b, err
	}
	return append(append(b, key...), data...), nil
}

// paramsField appends params with their types (see Params).
func paramsField(b []byte, key string, p Params) ([]byte, error) {
	if len(p) == 0 {
		return b, nil
	}
	b, err := appendParamValue(append(b, key...), map[string]any(p), 0)
	if err != nil {
		return b, fmt.Errorf("params: %w", err)
	}
	return b, nil
}

func appendInt(b []byte, n int) []byte { return strconv.AppendInt(b, int64(n), 10) }

// mapField appends a non-empty map as a JSON object, keys sorted as
// encoding/json sorts them.
func mapField[V any](b []byte, key string, m map[string]V, value func([]byte, V) []byte) []byte {
	if len(m) == 0 {
		return b
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, key...)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = value(b, m[k])
	}
	return append(b, '}')
}

// appendString appends s as a JSON string the way encoding/json does:
// HTML's <, > and & escaped, \b \f \n \r \t short, other control bytes
// as \u00XX, invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Decoded returns r as it reads back from the journal: JSON has no place
// for invalid UTF-8 (it reads back as U+FFFD), for Data's own Go types
// (numbers read back as float64, structs as maps) or for an empty map or
// list (left out, it reads back as nil). A record free of all three is
// returned as it is, without a round trip.
func Decoded(r Record) (Record, error) {
	r.nilEmpty()
	if r.readsBackAsIs() {
		return r, nil
	}
	line, err := appendRecord(nil, &r)
	if err != nil {
		return r, err
	}
	var back Record
	err = json.Unmarshal(line, &back)
	return back, err
}

// validList reports whether every string of list is valid UTF-8.
func validList(list []string) bool {
	for _, s := range list {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// validStringMap reports whether every key and value of m is valid UTF-8.
func validStringMap(m map[string]string) bool {
	for k, v := range m {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return false
		}
	}
	return true
}

// validKeys reports whether every key of m is valid UTF-8.
func validKeys[V any](m map[string]V) bool {
	for k := range m {
		if !utf8.ValidString(k) {
			return false
		}
	}
	return true
}
