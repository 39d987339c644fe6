package ssh

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"net"
	"strings"
)

// Host patterns and hashed host names, read and matched as knownhosts
// reads and matches them; it exports neither, and the index must try a
// line exactly as knownhosts.New's callback would.

// newHostPatterns parses a comma-separated list of host patterns, each
// "host", "host:port" or "[host]:port", optionally negated with '!'.
func newHostPatterns(list string) ([]hostPattern, error) {
	var ps []hostPattern
	for _, p := range strings.Split(list, ",") {
		if len(p) == 0 {
			continue
		}
		var hp hostPattern
		if p[0] == '!' {
			hp.negate, p = true, p[1:]
		}
		if len(p) == 0 {
			return nil, errors.New("knownhosts: negation without following hostname")
		}
		var err error
		if p[0] == '[' {
			if hp.addr.host, hp.addr.port, err = net.SplitHostPort(p); err != nil {
				return nil, err
			}
		} else if hp.addr.host, hp.addr.port, err = net.SplitHostPort(p); err != nil {
			hp.addr = hostAddr{host: p, port: "22"}
		}
		ps = append(ps, hp)
	}
	return ps, nil
}

// newHashedHost parses "|1|salt|hash", the form OpenSSH's HashKnownHosts
// writes.
func newHashedHost(encoded string) (*hashedHost, error) {
	parts := strings.Split(encoded, "|")
	if len(parts) != 4 {
		return nil, fmt.Errorf("knownhosts: got %d components, want 3", len(parts))
	}
	salt, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, err
	}
	sum, err := base64.StdEncoding.DecodeString(parts[3])
	if err != nil {
		return nil, err
	}
	if parts[1] != "1" {
		return nil, fmt.Errorf("knownhosts: got hash type %s, must be '1'", parts[1])
	}
	h := &hashedHost{salt: salt, hash: sum}
	// Keyed once, then cloned for each host name (see hashedHost.match).
	if mac, ok := hmac.New(sha1.New, salt).(hash.Cloner); ok {
		mac.Reset()
		h.keyed = mac
	}
	return h, nil
}

// wildcardMatch matches str against pat, where '*' stands for any run of
// bytes and '?' for one byte, with no regard for separators (OpenSSH's
// addrmatch.c).
func wildcardMatch(pat, str string) bool {
	for {
		if len(pat) == 0 {
			return len(str) == 0
		}
		if len(str) == 0 {
			return false
		}
		if pat[0] == '*' {
			if len(pat) == 1 {
				return true
			}
			for j := range len(str) {
				if wildcardMatch(pat[1:], str[j:]) {
					return true
				}
			}
			return false
		}
		if pat[0] != '?' && pat[0] != str[0] {
			return false
		}
		pat, str = pat[1:], str[1:]
	}
}
