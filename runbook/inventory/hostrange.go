package inventory

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// maxRangeHosts bounds how many names one host pattern may expand to (a
// variable only so that fuzzing can spend its time on logic, not on size).
var maxRangeHosts = 100000

const asciiLetters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// expandHostPattern reads an inventory host entry as Ansible does: an
// optional `:port` suffix (`web1:2222`, `[2001:db8::1]:2222`) and ranges
// (`worker-[1:5]`, `node[01:10]`, `db-[a:c]`, `n[0:10:2]`). port is 0 when
// not given.
func expandHostPattern(pattern string) (names []string, port int, err error) {
	host, port, err := splitPort(pattern)
	if err != nil {
		return nil, 0, err
	}
	names, err = expandRanges(host)
	if err != nil {
		return nil, 0, err
	}
	for _, n := range names {
		if err := checkHostName(n); err != nil {
			return nil, 0, err
		}
	}
	return names, port, nil
}

// splitPort splits a trailing `:port` from a host entry. A bracketed IPv6
// address may carry a port; a bare one (several colons) never does.
func splitPort(s string) (string, int, error) {
	if strings.HasPrefix(s, "[") {
		if end := strings.Index(s, "]"); end > 0 && isIPv6(s[1:end]) {
			host, rest := s[1:end], s[end+1:]
			if rest == "" {
				return host, 0, nil
			}
			if !strings.HasPrefix(rest, ":") {
				return "", 0, fmt.Errorf("invalid host %q: unexpected %q after the address", s, rest)
			}
			p, err := parsePort(s, rest[1:])
			return host, p, err
		}
	}
	colon, colons, depth := -1, 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			if depth > 0 {
				depth--
			}
		case ':':
			if depth == 0 {
				colon = i
				colons++
			}
		}
	}
	if colons != 1 {
		return s, 0, nil // no port, or a bare IPv6 address
	}
	p, err := parsePort(s, s[colon+1:])
	return s[:colon], p, err
}

func parsePort(entry, s string) (int, error) {
	p, ok := portValue(s)
	if !ok {
		return 0, fmt.Errorf("invalid port %q in host %q (expected 1 to 65535)", s, entry)
	}
	return p, nil
}

// expandRanges expands every [start:end] or [start:end:step] range of s.
// The number of names is checked before any is made.
func expandRanges(s string) ([]string, error) {
	var (
		literals []string // literals[i] comes before ranges[i]
		ranges   []hostRange
		total    = 1
	)
	rest := s
	for {
		open := strings.IndexByte(rest, '[')
		if open < 0 {
			if strings.IndexByte(rest, ']') >= 0 {
				return nil, fmt.Errorf("invalid host range in %q: \"]\" without \"[\"", s)
			}
			literals = append(literals, rest)
			break
		}
		end := strings.IndexByte(rest[open:], ']')
		if end < 0 {
			return nil, fmt.Errorf("invalid host range in %q: \"[\" without \"]\"", s)
		}
		end += open
		if strings.IndexByte(rest[:open], ']') >= 0 {
			return nil, fmt.Errorf("invalid host range in %q: \"]\" without \"[\"", s)
		}
		r, err := parseRange(s, rest[open+1:end])
		if err != nil {
			return nil, err
		}
		total *= r.count()
		if total > maxRangeHosts {
			return nil, fmt.Errorf("host range %q expands to more than %d hosts", s, maxRangeHosts)
		}
		literals = append(literals, rest[:open])
		ranges = append(ranges, r)
		rest = rest[end+1:]
	}
	out := make([]string, 0, total)
	var walk func(i int, prefix string)
	walk = func(i int, prefix string) {
		prefix += literals[i]
		if i == len(ranges) {
			out = append(out, prefix)
			return
		}
		for k := 0; k < ranges[i].count(); k++ {
			walk(i+1, prefix+ranges[i].at(k))
		}
	}
	walk(0, "")
	return out, nil
}

// hostRange is one parsed range: numbers from beg to end (inclusive) by
// step, zero-padded to width, or the letters asciiLetters[beg..end].
type hostRange struct {
	alpha          bool
	beg, end, step int
	width          int
}

func (r hostRange) count() int { return (r.end-r.beg)/r.step + 1 }

func (r hostRange) at(k int) string {
	i := r.beg + k*r.step
	if r.alpha {
		return asciiLetters[i : i+1]
	}
	return fmt.Sprintf("%0*d", r.width, i)
}

// parseRange reads the inside of one range of s: `1:5`, `01:10`, `a:f`,
// `0:10:2`.
func parseRange(s, spec string) (hostRange, error) {
	bad := func(why string) (hostRange, error) {
		return hostRange{}, fmt.Errorf("invalid host range [%s] in %q: %s", spec, s, why)
	}
	parts := strings.Split(spec, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return bad("expected [start:end] or [start:end:step]")
	}
	beg, last := parts[0], parts[1]
	r := hostRange{step: 1}
	if len(parts) == 3 {
		n, err := strconv.Atoi(parts[2])
		if err != nil || n < 1 {
			return bad("the step must be a positive integer")
		}
		r.step = n
	}
	if beg == "" {
		beg = "0"
	}
	if last == "" {
		return bad("the end is missing")
	}
	if len(beg) == 1 && len(last) == 1 && isLetter(beg[0]) && isLetter(last[0]) {
		r.alpha = true
		r.beg, r.end = strings.IndexByte(asciiLetters, beg[0]), strings.IndexByte(asciiLetters, last[0])
	} else {
		if !isDigits(beg) || !isDigits(last) || len(beg) > 9 || len(last) > 9 {
			return bad("start and end must both be numbers, or both single letters")
		}
		if len(beg) > 1 && beg[0] == '0' {
			if len(beg) != len(last) {
				return bad("a zero-padded start and the end must have the same width")
			}
			r.width = len(beg)
		}
		r.beg, _ = strconv.Atoi(beg)
		r.end, _ = strconv.Atoi(last)
	}
	if r.beg > r.end {
		return bad("the start comes after the end")
	}
	return r, nil
}

func isIPv6(s string) bool {
	return strings.Contains(s, ":") && net.ParseIP(s) != nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkHostName refuses names no pattern could select.
func checkHostName(name string) error {
	if name == "" {
		return fmt.Errorf("empty host name")
	}
	for _, r := range name {
		if r <= ' ' || r == 0x7f || r == ',' {
			return fmt.Errorf("invalid host name %q: no spaces, control characters or commas", name)
		}
	}
	return nil
}

// checkGroupName refuses group names that host patterns cannot name.
func checkGroupName(name string) error {
	if name == "" {
		return fmt.Errorf("empty group name")
	}
	for _, r := range name {
		if r <= ' ' || r == 0x7f || strings.ContainsRune(",:!&*?[]~", r) {
			return fmt.Errorf("invalid group name %q: no spaces, control characters or any of , : ! & * ? [ ] ~", name)
		}
	}
	return nil
}
