package ssh

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"net"
	"strings"

	"golang.org/x/crypto/ssh"
)

// The parsing of a known_hosts line, written as golang.org/x/crypto/ssh/
// knownhosts (v0.59.0) does it, which exports none of it: the index must
// accept, refuse and read each line exactly as knownhosts.New would.

const (
	markerCert    = "@cert-authority"
	markerRevoked = "@revoked"
)

// parseKnownHostsLine splits a line, trimmed of spaces and tabs, into its
// marker, host pattern and key.
func parseKnownHostsLine(line []byte) (marker, pattern string, key ssh.PublicKey, err error) {
	if w, next := nextWord(line); w == markerCert || w == markerRevoked {
		marker, line = w, next
	}
	pattern, line = nextWord(line)
	// A second marker, or an unknown one.
	if len(pattern) > 0 && pattern[0] == '@' {
		return "", "", nil, fmt.Errorf("knownhosts: unexpected marker: %q", pattern)
	}
	if len(line) == 0 {
		return "", "", nil, errors.New("knownhosts: missing host pattern")
	}
	wantType, line := nextWord(line)
	if len(line) == 0 {
		return "", "", nil, errors.New("knownhosts: missing key type pattern")
	}
	keyBlob, _ := nextWord(line)
	keyBytes, err := base64.StdEncoding.DecodeString(keyBlob)
	if err != nil {
		return "", "", nil, err
	}
	if key, err = ssh.ParsePublicKey(keyBytes); err != nil {
		return "", "", nil, err
	}
	if key.Type() != wantType {
		return "", "", nil, fmt.Errorf("knownhosts: key type mismatch: found %q, want %q", key.Type(), wantType)
	}
	return marker, pattern, key, nil
}

func nextWord(line []byte) (string, []byte) {
	i := bytes.IndexAny(line, "\t ")
	if i == -1 {
		return string(line), nil
	}
	return string(line[:i]), trimSpace(line[i:])
}

// trimSpace removes leading and trailing spaces and tabs, and no other
// white space.
func trimSpace(b []byte) []byte { return bytes.Trim(b, " \t") }

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
