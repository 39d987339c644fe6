package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Params are a run's params as run_started records them, each with its type:
// a resume must give `flag: false` back as a bool and `n: 3` as an int, not
// as the text they print as. The values are those YAML gives (-e @file, a
// param's default) or -e gives (strings): nil, bool, string, int, int64,
// uint64, float64, []any and map[string]any of them.
//
// In JSON an integer is written as digits and a float always with a point
// or an exponent (3.0, not 3), so each reads back as the type it was.
type Params map[string]any

// CheckParamValue reports why v cannot be journaled exactly, if it cannot:
// a number that is not finite, a mapping key that is not text, a type
// outside those above.
func CheckParamValue(v any) error {
	_, err := appendParamValue(nil, v, 0)
	return err
}

// maxParamDepth bounds the nesting of a param value, as YAML's own limits
// bound what a file can hold.
const maxParamDepth = 100

// MarshalJSON writes the params with sorted keys and typed numbers.
func (p Params) MarshalJSON() ([]byte, error) {
	if p == nil {
		return []byte("null"), nil
	}
	return appendParamValue(nil, map[string]any(p), 0)
}

// UnmarshalJSON reads params back with their types.
func (p *Params) UnmarshalJSON(b []byte) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var raw any
	if err := d.Decode(&raw); err != nil {
		return err
	}
	if raw == nil {
		*p = nil
		return nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return errors.New("params: not an object")
	}
	*p = typedParamValue(m).(map[string]any)
	return nil
}

func typedParamValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		s := string(x)
		if !strings.ContainsAny(s, ".eE") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				if i == int64(int(i)) {
					return int(i)
				}
				return i
			}
			if u, err := strconv.ParseUint(s, 10, 64); err == nil {
				return u
			}
		}
		f, _ := strconv.ParseFloat(s, 64)
		return f
	case []any:
		for i := range x {
			x[i] = typedParamValue(x[i])
		}
		return x
	case map[string]any:
		for k := range x {
			x[k] = typedParamValue(x[k])
		}
		return x
	}
	return v
}

func appendParamValue(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxParamDepth {
		return b, errors.New("nested too deeply")
	}
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case string:
		return appendString(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return b, fmt.Errorf("%v is not a finite number", x)
		}
		start := len(b)
		b = strconv.AppendFloat(b, x, 'g', -1, 64)
		if !bytes.ContainsAny(b[start:], ".e") {
			b = append(b, ".0"...)
		}
		return b, nil
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendParamValue(b, e, depth+1); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendString(b, k), ':')
			var err error
			if b, err = appendParamValue(b, x[k], depth+1); err != nil {
				return b, fmt.Errorf("%s: %w", k, err)
			}
		}
		return append(b, '}'), nil
	case map[any]any:
		return b, errors.New("a mapping whose keys are not all text")
	}
	return b, fmt.Errorf("a value of type %T", v)
}

// Strings returns each param's value as text: a text as it is, anything
// else as its JSON.
func (p Params) Strings() map[string]string {
	if p == nil {
		return nil
	}
	out := make(map[string]string, len(p))
	for k, v := range p {
		if s, ok := v.(string); ok {
			out[k] = s
			continue
		}
		b, err := appendParamValue(nil, v, 0)
		if err != nil {
			b = []byte(fmt.Sprint(v))
		}
		out[k] = string(b)
	}
	return out
}

// validUTF8 reports whether every text in the params is valid UTF-8.
func (p Params) validUTF8() bool {
	var valid func(v any) bool
	valid = func(v any) bool {
		switch x := v.(type) {
		case string:
			return utf8.ValidString(x)
		case []any:
			return !slices.ContainsFunc(x, func(e any) bool { return !valid(e) })
		case map[string]any:
			for k, e := range x {
				if !utf8.ValidString(k) || !valid(e) {
					return false
				}
			}
		}
		return true
	}
	return valid(map[string]any(p))
}
