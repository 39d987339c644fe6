package sim

import (
	"strings"
)

// compareDebVersions compares two Debian version strings the way dpkg does
// ([epoch:]upstream[-revision], with '~' sorting before everything).
func compareDebVersions(a, b string) int {
	ea, ua, ra := splitDebVersion(a)
	eb, ub, rb := splitDebVersion(b)
	if ea != eb {
		if ea < eb {
			return -1
		}
		return 1
	}
	if c := compareDebPart(ua, ub); c != 0 {
		return c
	}
	return compareDebPart(ra, rb)
}

func splitDebVersion(v string) (epoch int, upstream, revision string) {
	if i := strings.IndexByte(v, ':'); i >= 0 {
		for _, c := range v[:i] {
			if c < '0' || c > '9' {
				break
			}
			epoch = epoch*10 + int(c-'0')
		}
		v = v[i+1:]
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		return epoch, v[:i], v[i+1:]
	}
	return epoch, v, ""
}

func debOrder(c byte) int {
	switch {
	case c == '~':
		return -1
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		return int(c)
	case c == 0:
		return 0
	default:
		return int(c) + 256
	}
}

func compareDebPart(a, b string) int {
	for a != "" || b != "" {
		// non-digit prefix
		for (a != "" && !isDigit(a[0])) || (b != "" && !isDigit(b[0])) {
			var ca, cb byte
			if a != "" && !isDigit(a[0]) {
				ca = a[0]
			}
			if b != "" && !isDigit(b[0]) {
				cb = b[0]
			}
			if oa, ob := debOrder(ca), debOrder(cb); oa != ob {
				if oa < ob {
					return -1
				}
				return 1
			}
			if ca != 0 {
				a = a[1:]
			}
			if cb != 0 {
				b = b[1:]
			}
		}
		// digit run
		var na, nb int
		for a != "" && isDigit(a[0]) {
			na = na*10 + int(a[0]-'0')
			a = a[1:]
		}
		for b != "" && isDigit(b[0]) {
			nb = nb*10 + int(b[0]-'0')
			b = b[1:]
		}
		if na != nb {
			if na < nb {
				return -1
			}
			return 1
		}
	}
	return 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// upstreamVersion is the upstream part of a Debian version: 1.30.4-1.1 → 1.30.4.
func upstreamVersion(v string) string {
	_, u, _ := splitDebVersion(v)
	return u
}

// minorOf returns "1.30" for "1.30.4" (or "1.30.4-1.1"); "" when v has no minor.
func minorOf(v string) string {
	parts := strings.SplitN(upstreamVersion(v), ".", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return ""
	}
	for _, p := range parts[:2] {
		for i := 0; i < len(p); i++ {
			if !isDigit(p[i]) {
				return ""
			}
		}
	}
	return parts[0] + "." + parts[1]
}
