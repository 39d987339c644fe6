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
// without its reflection: a journal writes two records per step, and
// json.Marshal was a tenth of the engine's own CPU. Fields are in the
// struct's order and follow its omitempty tags; Data, whose values may be
// of any type, goes through json.Marshal. A record whose time is not UTC
// or lies outside years 0–9999 (which json.Marshal may refuse) is left to
// json.Marshal, error included.
// encode_test.go holds the two to the same bytes.
func appendRecord(b []byte, r *Record) ([]byte, error) {
	if y := r.Time.Year(); y < 0 || y > 9999 || r.Time.Location() != time.UTC {
		rc := *r // a copy, so that r itself never escapes to the heap
		line, err := json.Marshal(&rc)
		return append(b, line...), err
	}
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, r.Seq, 10)
	b = append(b, `,"time":"`...)
	b = r.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","type":`...)
	b = appendString(b, r.Type)
	b = strField(b, `,"run_id":`, r.RunID)
	b = strField(b, `,"runbook":`, r.Runbook)
	b = strField(b, `,"runbook_file":`, r.RunbookFile)
	b = strField(b, `,"runbook_sha256":`, r.RunbookSHA256)
	b = strField(b, `,"inventory":`, r.Inventory)
	b = strField(b, `,"operator":`, r.Operator)
	b = strField(b, `,"controller":`, r.Controller)
	if len(r.Params) > 0 {
		b = append(b, `,"params":`...)
		var err error
		if b, err = appendParamValue(b, map[string]any(r.Params), 0); err != nil {
			return b, fmt.Errorf("params: %w", err)
		}
	}
	b = strField(b, `,"limit":`, r.Limit)
	if len(r.Hosts) > 0 {
		b = append(b, `,"hosts":[`...)
		for i, h := range r.Hosts {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, h)
		}
		b = append(b, ']')
	}
	b = strField(b, `,"phase":`, r.Phase)
	b = intField(b, `,"phase_index":`, int64(r.PhaseIndex))
	b = strField(b, `,"phase_kind":`, r.PhaseKind)
	b = intField(b, `,"batch":`, int64(r.Batch))
	b = strField(b, `,"host":`, r.Host)
	b = strField(b, `,"step_id":`, r.StepID)
	b = strField(b, `,"step":`, r.Step)
	b = intField(b, `,"index":`, int64(r.Index))
	b = intField(b, `,"attempt":`, int64(r.Attempt))
	b = strField(b, `,"kind":`, r.Kind)
	b = strField(b, `,"command":`, r.Command)
	b = strField(b, `,"delegate_to":`, r.DelegateTo)
	b = strField(b, `,"status":`, r.Status)
	if r.RC != nil {
		b = append(b, `,"rc":`...)
		b = strconv.AppendInt(b, int64(*r.RC), 10)
	}
	b = strField(b, `,"stdout":`, r.Stdout)
	b = strField(b, `,"stderr":`, r.Stderr)
	b = boolField(b, `,"stdout_truncated":true`, r.StdoutCut)
	b = boolField(b, `,"stderr_truncated":true`, r.StderrCut)
	b = intField(b, `,"duration_ms":`, r.DurationMS)
	b = strField(b, `,"error":`, r.Error)
	b = boolField(b, `,"final":true`, r.Final)
	if len(r.Data) > 0 {
		data, err := json.Marshal(r.Data)
		if err != nil {
			return b, err
		}
		b = append(b, `,"data":`...)
		b = append(b, data...)
	}
	b = strField(b, `,"outcome":`, r.Outcome)
	b = strField(b, `,"failed_step":`, r.FailedStep)
	b = strField(b, `,"prompt":`, r.Prompt)
	b = strField(b, `,"decision":`, r.Decision)
	b = strField(b, `,"by":`, r.By)
	b = strField(b, `,"via":`, r.Via)
	b = intField(b, `,"seconds":`, r.Seconds)
	b = strField(b, `,"path":`, r.Path)
	b = strField(b, `,"text":`, r.Text)
	b = mapField(b, `,"counts":`, r.Counts, func(b []byte, n int) []byte { return strconv.AppendInt(b, int64(n), 10) })
	b = strField(b, `,"reason":`, r.Reason)
	return append(b, '}'), nil
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

func boolField(b []byte, keyTrue string, v bool) []byte {
	if !v {
		return b
	}
	return append(b, keyTrue...)
}

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
	if len(r.Params) == 0 {
		r.Params = nil
	}
	if len(r.Hosts) == 0 {
		r.Hosts = nil
	}
	if len(r.Counts) == 0 {
		r.Counts = nil
	}
	if len(r.Data) == 0 && r.validUTF8() {
		r.Data = nil
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

func (r *Record) validUTF8() bool {
	for _, s := range [...]string{r.Type, r.RunID, r.Runbook, r.RunbookFile, r.RunbookSHA256, r.Inventory,
		r.Operator, r.Controller, r.Limit, r.Phase, r.PhaseKind, r.Host, r.StepID, r.Step, r.Kind, r.Command,
		r.DelegateTo, r.Status, r.Stdout, r.Stderr, r.Error, r.Outcome, r.FailedStep, r.Prompt, r.Decision,
		r.By, r.Via, r.Path, r.Text, r.Reason} {
		if !utf8.ValidString(s) {
			return false
		}
	}
	if !r.Params.validUTF8() {
		return false
	}
	for _, h := range r.Hosts {
		if !utf8.ValidString(h) {
			return false
		}
	}
	for k := range r.Counts {
		if !utf8.ValidString(k) {
			return false
		}
	}
	return true
}
