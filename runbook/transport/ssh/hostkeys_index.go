package ssh

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"errors"
	"fmt"
	"hash"
	"io"
	"iter"
	"net"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// knownHostsIndex is the lines of known_hosts files, each parsed by
// x/crypto's ssh.ParseKnownHosts and matched as golang.org/x/crypto/ssh/
// knownhosts matches them, indexed by host because knownhosts.New's
// callback tries every line of every file on each check
// (BenchmarkHostKeyCheck: knownhosts/lines=N against lines=N). A check
// tries only the lines that name the host literally plus the few that must
// be tried one by one (hashed host names, wildcard patterns). Which lines
// match, in which order, and what a check returns are knownhosts';
// hostkeys_index_test.go compares the two on random files.
type knownHostsIndex struct {
	lines []knownLine
	// named maps an address to the lines that name it in a pattern
	// without wildcards, in file order.
	named map[hostAddr][]int32
	// scan holds, in file order, the lines to try one by one: hashed host
	// names and patterns with '*' or '?'.
	scan []int32
	// revoked maps a key's wire form to its @revoked line; a later line
	// replaces an earlier one, as in knownhosts.
	revoked map[string]*knownhosts.KnownKey
	// authorities are the @cert-authority lines: knownhosts reports them
	// among a host's keys, which they are not.
	authorities map[fileLine]bool
}

// hostAddr is a host and port as knownhosts compares them: the host as
// net.SplitHostPort returns it, without brackets.
type hostAddr struct{ host, port string }

func (a hostAddr) String() string {
	h := a.host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	return h + ":" + a.port
}

type fileLine struct {
	file string
	line int
}

// knownLine is a line of known_hosts other than @revoked.
type knownLine struct {
	known knownhosts.KnownKey
	cert  bool // @cert-authority
	// authority: the line reads "@cert-authority" once leading white space
	// (any, not only space and tab) is trimmed, which is how runbook has
	// always told authorities from host keys.
	authority bool
	patterns  []hostPattern // nil when hashed is set
	hashed    *hashedHost
	// exact: the line matches every address it is listed under in named,
	// with no negated pattern to try.
	exact bool
}

type hostPattern struct {
	negate bool
	addr   hostAddr
}

type hashedHost struct {
	salt, hash []byte
	// keyed is HMAC-SHA1 keyed with salt, cloned for each host name
	// rather than keyed anew; nil if it cannot be cloned.
	keyed hash.Cloner
}

// formerMaxLine is the longest line the former loader read before
// knownhosts parsed the files.
const formerMaxLine = 1 << 20

// readKnownHosts reads files in order, with the errors of runbook's former
// loader: first whether each file can be read and has no line over 1 MiB,
// then knownhosts' parse of each (lines over 64 KiB, a file with invalid
// lines and no valid one).
func readKnownHosts(files []string) (*knownHostsIndex, error) {
	contents := make([][]byte, len(files))
	lines := 0
	for i, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if len(data) >= formerMaxLine {
			sc := bufio.NewScanner(bytes.NewReader(data))
			sc.Buffer(make([]byte, 64<<10), formerMaxLine)
			for sc.Scan() {
			}
			if err := sc.Err(); err != nil {
				return nil, err
			}
		}
		contents[i] = data
		lines += bytes.Count(data, []byte{'\n'}) + 1
	}
	ix := &knownHostsIndex{
		lines:       make([]knownLine, 0, lines),
		named:       make(map[hostAddr][]int32, lines),
		revoked:     map[string]*knownhosts.KnownKey{},
		authorities: map[fileLine]bool{},
	}
	for i, f := range files {
		if err := ix.read(contents[i], f); err != nil {
			return nil, err
		}
	}
	return ix, nil
}

// read adds the lines of one file, as knownhosts' hostKeyDB.Read does.
func (ix *knownHostsIndex) read(data []byte, filename string) error {
	scanner := bufio.NewScanner(bytes.NewReader(data))
	var firstErr error
	firstErrLine, valid, lineNum := 0, 0, 0
	for scanner.Scan() {
		lineNum++
		raw := scanner.Bytes()
		line := trimSpace(raw)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if err := ix.add(raw, line, filename, lineNum); err != nil {
			if firstErr == nil {
				firstErr, firstErrLine = err, lineNum
			}
			continue
		}
		valid++
	}
	if err := scanner.Err(); err != nil {
		return err
	}
	if valid == 0 && firstErr != nil {
		return fmt.Errorf("knownhosts: %s: no valid entries, line %d: %v", filename, firstErrLine, firstErr)
	}
	return nil
}

// add parses a line and indexes it, keeping what knownhosts' hostKeyDB
// keeps of it.
func (ix *knownHostsIndex) add(raw, line []byte, filename string, lineNum int) error {
	marker, pattern, key, err := parseKnownHostsLine(line)
	if err != nil {
		return err
	}
	known := knownhosts.KnownKey{Key: key, Filename: filename, Line: lineNum}
	if marker == markerRevoked {
		ix.revoked[plainKeyBlob(key)] = &known
		return nil
	}
	l := knownLine{known: known, cert: marker == markerCert,
		authority: bytes.HasPrefix(bytes.TrimSpace(raw), []byte("@"+markerCert))}
	if pattern[0] == '|' {
		l.hashed, err = newHashedHost(pattern)
	} else {
		l.patterns, err = newHostPatterns(pattern)
	}
	if err != nil {
		return err
	}
	if l.authority {
		ix.authorities[fileLine{filename, lineNum}] = true
	}
	i := int32(len(ix.lines))
	scan := l.hashed != nil
	l.exact = true
	for _, p := range l.patterns {
		switch {
		case p.negate:
			l.exact = false
		case strings.ContainsAny(p.addr.host, "*?"):
			scan = true
		}
	}
	ix.lines = append(ix.lines, l)
	if scan {
		ix.scan = append(ix.scan, i)
		return nil
	}
	// Without wildcards a pattern matches its own address only; a line
	// with no pattern that is not negated matches nothing.
	for _, p := range l.patterns {
		if s := ix.named[p.addr]; !p.negate && (len(s) == 0 || s[len(s)-1] != i) {
			ix.named[p.addr] = append(s, i)
		}
	}
	return nil
}

// matching yields, in file order, the lines whose host patterns match a.
func (ix *knownHostsIndex) matching(a hostAddr) iter.Seq[*knownLine] {
	return func(yield func(*knownLine) bool) {
		named, scan := ix.named[a], ix.scan
		var hashedName string // a as hashed names hash it, once needed
		haveHashedName := false
		for len(named) > 0 || len(scan) > 0 {
			var l *knownLine
			if len(scan) == 0 || len(named) > 0 && named[0] < scan[0] {
				l, named = &ix.lines[named[0]], named[1:]
				if !l.exact && !matchPatterns(l.patterns, a) {
					continue
				}
			} else {
				l, scan = &ix.lines[scan[0]], scan[1:]
				if l.hashed != nil {
					if !haveHashedName {
						hashedName, haveHashedName = knownhosts.Normalize(a.String()), true
					}
					if !l.hashed.match(hashedName) {
						continue
					}
				} else if !matchPatterns(l.patterns, a) {
					continue
				}
			}
			if !yield(l) {
				return
			}
		}
	}
}

// hostKeyCallback is the callback knownhosts.New would return for the
// same files.
func (ix *knownHostsIndex) hostKeyCallback() ssh.HostKeyCallback {
	checker := &ssh.CertChecker{IsHostAuthority: ix.isHostAuthority, IsRevoked: ix.isRevoked, HostKeyFallback: ix.check}
	return checker.CheckHostKey
}

// resolveAddr is the address knownhosts checks: the host name it is given
// in preference to the remote address.
func resolveAddr(address string, remote net.Addr) (hostAddr, error) {
	host, port, err := net.SplitHostPort(remote.String())
	if err != nil {
		return hostAddr{}, fmt.Errorf("knownhosts: SplitHostPort(%s): %v", remote, err)
	}
	if address != "" {
		if host, port, err = net.SplitHostPort(address); err != nil {
			return hostAddr{}, fmt.Errorf("knownhosts: SplitHostPort(%s): %v", address, err)
		}
	}
	return hostAddr{host, port}, nil
}

// check checks a plain key, as knownhosts' hostKeyDB.check does.
func (ix *knownHostsIndex) check(address string, remote net.Addr, key ssh.PublicKey) error {
	if revoked := ix.revoked[plainKeyBlob(key)]; revoked != nil {
		return &knownhosts.RevokedError{Revoked: *revoked}
	}
	a, err := resolveAddr(address, remote)
	if err != nil {
		return err
	}
	keyErr := &knownhosts.KeyError{}
	blob := key.Marshal()
	for l := range ix.matching(a) {
		keyErr.Want = append(keyErr.Want, l.known)
		if bytes.Equal(l.known.Key.Marshal(), blob) {
			return nil
		}
	}
	return keyErr
}

func (ix *knownHostsIndex) isHostAuthority(auth ssh.PublicKey, address string) bool {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return false
	}
	blob := auth.Marshal()
	for l := range ix.matching(hostAddr{host, port}) {
		if l.cert && bytes.Equal(l.known.Key.Marshal(), blob) {
			return true
		}
	}
	return false
}

func (ix *knownHostsIndex) isRevoked(cert *ssh.Certificate) bool {
	return ix.revoked[plainKeyBlob(cert)] != nil || ix.revoked[plainKeyBlob(cert.SignatureKey)] != nil
}

const (
	markerCert    = "cert-authority"
	markerRevoked = "revoked"
)

// parseKnownHostsLine reads one line of a known_hosts file, trimmed of
// spaces and tabs, with x/crypto's parser (ssh.ParseKnownHosts). It also
// refuses what knownhosts.New refuses and that parser lets through: a line
// of one word, an unknown marker, a second marker.
func parseKnownHostsLine(line []byte) (marker, pattern string, key ssh.PublicKey, err error) {
	marker, hosts, key, _, _, err := ssh.ParseKnownHosts(line)
	switch {
	case err == io.EOF:
		return "", "", nil, errors.New("knownhosts: missing host pattern")
	case err != nil:
		return "", "", nil, err
	case marker != "" && marker != markerCert && marker != markerRevoked:
		return "", "", nil, fmt.Errorf("knownhosts: unexpected marker: %q", "@"+marker)
	case strings.HasPrefix(hosts[0], "@"):
		return "", "", nil, fmt.Errorf("knownhosts: unexpected marker: %q", hosts[0])
	}
	return marker, strings.Join(hosts, ","), key, nil
}

// trimSpace removes leading and trailing spaces and tabs, and no other
// white space, as knownhosts does before it reads a line.
func trimSpace(b []byte) []byte { return bytes.Trim(b, " \t") }

// plainKeyBlob is the wire form of a key, or of the key a certificate
// certifies.
func plainKeyBlob(key ssh.PublicKey) string {
	if cert, ok := key.(*ssh.Certificate); ok {
		return string(cert.Key.Marshal())
	}
	return string(key.Marshal())
}

func matchPatterns(ps []hostPattern, a hostAddr) bool {
	matched := false
	for _, p := range ps {
		if p.addr.port != a.port || !wildcardMatch(p.addr.host, a.host) {
			continue
		}
		if p.negate {
			return false
		}
		matched = true
	}
	return matched
}

func (h *hashedHost) match(normalized string) bool {
	var mac hash.Hash
	if h.keyed != nil {
		if c, err := h.keyed.Clone(); err == nil {
			mac = c
		}
	}
	if mac == nil {
		mac = hmac.New(sha1.New, h.salt)
	}
	mac.Write([]byte(normalized))
	return hmac.Equal(mac.Sum(nil), h.hash)
}
