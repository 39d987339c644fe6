package inventory

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/runbookhq/runbook/runbook/diag"
)

// pos is a position in a file, for errors.
type pos struct {
	file      string
	line, col int
}

func (p pos) errorf(format string, args ...any) *diag.Error {
	return &diag.Error{File: p.file, Line: p.line, Col: p.col, Msg: oneLine(fmt.Sprintf(format, args...))}
}

// oneLine escapes line breaks, so that each problem stays one line of the
// error (user text is quoted where it is put in a message; this is the net
// under that).
func oneLine(s string) string { return lineBreaks.Replace(s) }

var lineBreaks = strings.NewReplacer("\n", `\n`, "\r", `\r`)

func (p pos) warnf(format string, args ...any) *diag.Error {
	e := p.errorf(format, args...)
	e.Warning = true
	return e
}

// varEntry is one variable as written in one source (a vars mapping, an INI
// line, a vars file), with the positions of its name and value.
type varEntry struct {
	key     string
	keyAt   pos
	value   any
	valueAt pos
}

// aliases maps the Ansible names runbook understands to its native names.
var aliases = map[string]string{
	"ansible_host":                 VarAddress,
	"ansible_ssh_host":             VarAddress,
	"ansible_port":                 VarPort,
	"ansible_ssh_port":             VarPort,
	"ansible_user":                 VarUser,
	"ansible_ssh_user":             VarUser,
	"ansible_ssh_private_key_file": VarIdentityFile,
	"ansible_private_key_file":     VarIdentityFile,
	"ansible_connection":           VarTransport,
}

// transports maps the product's own transports and the ansible_connection
// values that mean one of them to the transport they mean.
var transports = map[string]string{
	TransportSSH:   TransportSSH,
	TransportLocal: TransportLocal,
	"smart":        TransportSSH,
	"paramiko":     TransportSSH,
	"paramiko_ssh": TransportSSH,
}

// normalizeVars turns the entries of one source into variables: aliases are
// renamed to their native names and native values are checked and typed.
// Problems are added to b's errors; the bad entries are left out.
func (b *builder) normalizeVars(entries []varEntry) map[string]any {
	out := make(map[string]any, len(entries))
	setBy := map[string]string{} // native name -> the name it was written as
	for _, e := range entries {
		if strings.ContainsFunc(e.key, unicode.IsControl) {
			b.errs.Add(e.keyAt.errorf("variable name %q has a control character (a line break, tab or the like)", e.key))
			continue
		}
		name := e.key
		if native, ok := aliases[name]; ok {
			name = native
		}
		if prev, ok := setBy[name]; ok && prev != e.key {
			b.errs.Add(e.keyAt.errorf("%s and %s set the same variable; keep one", prev, e.key))
			continue
		}
		if isNative(name) {
			setBy[name] = e.key
		}
		v, err := b.checkVar(name, e.key, e.value)
		if err != "" {
			b.errs.Add(e.valueAt.errorf("%s", err))
			continue
		}
		out[name] = v
	}
	return out
}

func isNative(name string) bool {
	switch name {
	case VarAddress, VarPort, VarUser, VarIdentityFile, VarProxyJump, VarTransport:
		return true
	}
	return false
}

// checkVar checks the value of a variable runbook reads itself and returns
// it in its canonical type; written is the name as it was written. Other
// variables pass through. A non-empty string is the error.
func (b *builder) checkVar(name, written string, v any) (any, string) {
	if v == nil {
		return nil, ""
	}
	switch name {
	case VarPort:
		if p, ok := portValue(v); ok {
			return p, ""
		}
		return nil, fmt.Sprintf("%s must be a port number from 1 to 65535, not %s", written, describeValue(v))
	case VarAddress, VarUser, VarIdentityFile, VarProxyJump:
		switch s := v.(type) {
		case string:
			return s, ""
		case int, int64, uint64, float64:
			return fmt.Sprint(s), ""
		}
		return nil, fmt.Sprintf("%s must be a string, not %s", written, describeValue(v))
	case VarTransport:
		return b.checkTransport(written, v)
	}
	return v, ""
}

// checkTransport checks a transport value: one of the product's own, or
// one its caller adds (Options.Transports); when the caller adds none, any
// name is taken.
func (b *builder) checkTransport(written string, v any) (any, string) {
	names := append([]string{TransportSSH, TransportLocal}, b.transports...)
	list := strings.Join(names, ", ")
	if b.transports == nil {
		list += " or another transport's name"
	}
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Sprintf("%s must be one of %s, not %s", written, list, describeValue(v))
	}
	if t, ok := transports[s]; ok {
		return t, ""
	}
	if b.transports == nil && transportName().MatchString(s) || slices.Contains(b.transports, s) {
		return s, ""
	}
	return nil, fmt.Sprintf("%s %q is not one of %s%s", written, s, list, diag.Suggest(s, names))
}

// transportName is what a transport's name may be when any is accepted.
var transportName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`) })

// portValue accepts an integer or a string of digits in the port range.
func portValue(v any) (int, bool) {
	var n int64
	switch p := v.(type) {
	case int:
		n = int64(p)
	case int64:
		n = p
	case string:
		if p == "" || strings.TrimLeft(p, "0123456789") != "" || len(p) > 5 {
			return 0, false
		}
		n, _ = strconv.ParseInt(p, 10, 64)
	default:
		return 0, false
	}
	if n < 1 || n > 65535 {
		return 0, false
	}
	return int(n), true
}

// describeValue names a value for an error message.
func describeValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return fmt.Sprint(x)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}

// copyValue copies the maps and lists of a variable's value so that no two
// hosts share them.
func copyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = copyValue(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = copyValue(e)
		}
		return l
	}
	return v
}

// mergeInto copies the variables of src into dst; src wins.
func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		dst[k] = copyValue(v)
	}
}
