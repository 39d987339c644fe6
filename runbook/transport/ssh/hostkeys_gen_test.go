package ssh

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Random known_hosts files and queries for the differential test: few
// hosts, ports and keys, so that lines collide on hosts and keys often.

var (
	genHosts = []string{"a", "b.example.com", "c.example.com", "10.0.0.1", "10.0.0.12", "::1", "fe80::1", "A", "x*y"}
	genPorts = []string{"22", "2222", "23"}
)

// genKeys is the key material of the generator.
type genKeys struct {
	plain []ssh.PublicKey // host keys, of several types
	spare []ssh.PublicKey // keys of no host and no certificate
	cas   []ssh.Signer    // certificate authorities
	certs []*ssh.Certificate
}

var (
	genKeysOnce sync.Once
	genKeysVal  *genKeys
)

func testGenKeys(t testing.TB) *genKeys {
	t.Helper()
	genKeysOnce.Do(func() {
		k := &genKeys{}
		for i := range 4 {
			k.plain = append(k.plain, benchKey(1000+i))
		}
		ec, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
		must(t, err)
		ecPub, err := ssh.NewPublicKey(&ec.PublicKey)
		must(t, err)
		rs, err := rsa.GenerateKey(crand.Reader, 1024)
		must(t, err)
		rsPub, err := ssh.NewPublicKey(&rs.PublicKey)
		must(t, err)
		k.plain = append(k.plain, ecPub, rsPub)
		k.spare = []ssh.PublicKey{benchKey(2000), benchKey(2001)}
		for i := range 2 {
			seed := make([]byte, ed25519.SeedSize)
			seed[0] = byte(200 + i)
			s, err := ssh.NewSignerFromKey(ed25519.NewKeyFromSeed(seed))
			must(t, err)
			k.cas = append(k.cas, s)
		}
		// Certificates for each host name, by each authority: valid,
		// expired, not yet valid, a user certificate, one whose signature
		// does not verify.
		for _, h := range genHosts {
			for ci, ca := range k.cas {
				for variant := range 5 {
					cert := &ssh.Certificate{Key: k.plain[(ci+variant)%len(k.plain)], CertType: ssh.HostCert,
						ValidPrincipals: []string{h}, ValidBefore: ssh.CertTimeInfinity, Serial: uint64(variant)}
					switch variant {
					case 1:
						cert.ValidBefore = 1000
					case 2:
						cert.ValidAfter = 1 << 62
					case 3:
						cert.CertType = ssh.UserCert
					}
					must(t, cert.SignCert(crand.Reader, ca))
					if variant == 4 {
						cert.Key = k.plain[(ci+1)%len(k.plain)]
					}
					k.certs = append(k.certs, cert)
				}
			}
		}
		genKeysVal = k
	})
	if genKeysVal == nil {
		t.Fatal("generating keys failed")
	}
	return genKeysVal
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type knownHostsGen struct {
	r    *rand.Rand
	keys *genKeys
}

func (g *knownHostsGen) pick(list []string) string { return list[g.r.IntN(len(list))] }

// chance is true with probability percent/100.
func (g *knownHostsGen) chance(percent int) bool { return g.r.IntN(100) < percent }

// file returns the content of a random known_hosts file.
func (g *knownHostsGen) file() string {
	var b strings.Builder
	n := g.r.IntN(25)
	allBad := g.chance(5)
	for i := range n {
		b.WriteString(g.line(allBad))
		if i < n-1 || g.chance(80) {
			if g.chance(5) {
				b.WriteString("\r")
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func (g *knownHostsGen) line(bad bool) string {
	switch {
	case g.chance(6):
		return g.pick([]string{"# a comment", "  #indented comment", "#"})
	case g.chance(5):
		return g.pick([]string{"", "  ", "\t", " \t "})
	}
	var fields []string
	m := g.r.IntN(100)
	switch {
	case m < 12:
		fields = append(fields, g.pick([]string{"@cert-authority", "@cert-authority", "\v@cert-authority", "\u00a0@cert-authority"}))
	case m < 22:
		fields = append(fields, "@revoked")
	case m < 24:
		fields = append(fields, g.pick([]string{"@bogus", "@cert-authority @revoked", "@cert-authorityX"}))
	}
	fields = append(fields, g.patterns())
	fields = append(fields, g.key(m, bad || g.chance(6))...)
	if g.chance(15) {
		fields = append(fields, "comment@host")
	}
	sep := g.pick([]string{" ", " ", "\t", "  ", " \t"})
	line := strings.Join(fields, sep)
	if g.chance(10) {
		line = g.pick([]string{" ", "\t", "  "}) + line
	}
	if g.chance(5) {
		line += g.pick([]string{" ", "\t"})
	}
	return line
}

// patterns returns a host pattern field: a comma-separated list, or a
// hashed name.
func (g *knownHostsGen) patterns() string {
	if g.chance(15) {
		return g.hashed()
	}
	n := 1 + g.r.IntN(3)
	ps := make([]string, n)
	for i := range ps {
		ps[i] = g.pattern()
	}
	return strings.Join(ps, ",")
}

func (g *knownHostsGen) hashed() string {
	name := knownhosts.Normalize(net.JoinHostPort(g.pick(genHosts), g.pick(genPorts)))
	switch g.r.IntN(12) {
	case 0:
		return "|1|c2FsdA=="
	case 1:
		return "|2|" + strings.TrimPrefix(knownhosts.HashHostname(name), "|1|")
	case 2:
		return "|1|!!|AAAA"
	case 3:
		return knownhosts.HashHostname(name) + ",a"
	case 4:
		return knownhosts.HashHostname(g.pick(genHosts) + ":22")
	}
	return knownhosts.HashHostname(name)
}

func (g *knownHostsGen) pattern() string {
	h, port := g.pick(genHosts), g.pick(genPorts)
	var p string
	switch g.r.IntN(6) {
	case 0:
		p = h
	case 1:
		p = "[" + h + "]:" + port
	case 2:
		p = h + ":" + port
	case 3:
		p = knownhosts.Normalize(net.JoinHostPort(h, port))
	default:
		p = knownhosts.Normalize(net.JoinHostPort(h, "22"))
	}
	switch g.r.IntN(20) {
	case 0, 1:
		i := g.r.IntN(len(p))
		p = p[:i] + g.pick([]string{"*", "?"}) + p[i+1:]
	case 2:
		p = g.pick([]string{"*", "*.example.com", "10.0.0.?", "[*]:2222", "?", "*:23"})
	case 3:
		p = ""
	case 4:
		p = g.pick([]string{"[bad", "!", "[::1]", "[a]:", "a]:22"})
	}
	if g.chance(12) {
		p = "!" + p
	}
	return p
}

// key returns the key type and key fields, well formed or not, for a
// line of the given marker draw (see line): authorities' keys mostly on
// @cert-authority lines, keys no host has mostly on @revoked ones.
func (g *knownHostsGen) key(marker int, bad bool) []string {
	var k ssh.PublicKey
	r := g.r.IntN(100)
	switch {
	case marker < 12 && r < 80, r < 8:
		k = g.keys.cas[g.r.IntN(len(g.keys.cas))].PublicKey()
	case marker >= 12 && marker < 22 && r < 70:
		k = g.keys.spare[g.r.IntN(len(g.keys.spare))]
	case r < 11:
		k = g.keys.certs[g.r.IntN(len(g.keys.certs))]
	default:
		k = g.keys.plain[g.r.IntN(len(g.keys.plain))]
	}
	typ, blob := k.Type(), base64.StdEncoding.EncodeToString(k.Marshal())
	if !bad {
		return []string{typ, blob}
	}
	switch g.r.IntN(5) {
	case 0:
		return []string{ssh.KeyAlgoRSA, blob}
	case 1:
		return []string{typ, blob[:len(blob)-3] + "!"}
	case 2:
		return []string{typ}
	case 3:
		return nil
	}
	return []string{typ, base64.StdEncoding.EncodeToString([]byte("not a key"))}
}

// hostKeyQuery is what a host key callback is called with.
type hostKeyQuery struct {
	hostname string
	remote   net.Addr
	key      ssh.PublicKey
}

// badAddr is a remote address knownhosts cannot split.
type badAddr struct{}

func (badAddr) Network() string { return "tcp" }
func (badAddr) String() string  { return "no-port" }

func (g *knownHostsGen) query() hostKeyQuery {
	q := hostKeyQuery{
		hostname: net.JoinHostPort(g.pick(genHosts), g.pick(genPorts)),
		remote:   &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22},
	}
	switch g.r.IntN(30) {
	case 0:
		q.hostname = ""
	case 1:
		q.hostname = g.pick(genHosts)
	case 2:
		q.hostname = "[" + g.pick(genHosts) + "]:" + g.pick(genPorts)
	}
	switch g.r.IntN(20) {
	case 0:
		q.remote = probeAddr
	case 1:
		q.remote = badAddr{}
	case 2:
		q.remote = &net.TCPAddr{IP: net.ParseIP("10.0.0.1"), Port: 2222}
	}
	if g.chance(30) {
		q.key = g.keys.certs[g.r.IntN(len(g.keys.certs))]
		if h, _, err := net.SplitHostPort(q.hostname); err == nil && g.chance(70) {
			// One of the certificates for this host.
			i := slices.Index(genHosts, h)
			for i >= 0 && q.key.(*ssh.Certificate).ValidPrincipals[0] != h {
				q.key = g.keys.certs[g.r.IntN(len(g.keys.certs))]
			}
		}
	} else {
		q.key = g.keys.plain[g.r.IntN(len(g.keys.plain))]
	}
	return q
}

// endpointOf is the endpoint a query's host name stands for.
func endpointOf(hostname string) endpoint {
	h, p, err := net.SplitHostPort(hostname)
	if err != nil {
		return endpoint{host: hostname, port: 22}
	}
	port, _ := strconv.Atoi(p)
	return endpoint{host: h, port: port}
}
