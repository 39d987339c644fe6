package ssh

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// BenchmarkHostKeyCheck times the host key work of one connection, as
// handshake does it: algorithms for the host, then the host key callback
// with the key the host presents. Each iteration checks the next host of
// the file, so every line is looked up in turn. The known_hosts file has
// the given number of lines, mostly plain ones, with a few hashed hosts, an
// @cert-authority line, an @revoked line and a comment among them. The
// knownhosts/ runs do the same with knownhosts.New's callback (the
// reference of hostkeys_ref_test.go), which the index stands in for.
func BenchmarkHostKeyCheck(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run("lines="+strconv.Itoa(n), func(b *testing.B) {
			benchHostKeyCheck(b, writeBenchKnownHosts(b, n, 4))
		})
	}
	for _, n := range []int{10, 1000, 10000} {
		b.Run("knownhosts/lines="+strconv.Itoa(n), func(b *testing.B) {
			fx := writeBenchKnownHosts(b, n, 4)
			ref := newRefHostKeys([]string{fx.path})
			remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22}
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				h := fx.hosts[i%len(fx.hosts)]
				i++
				if _, err := ref.algorithms(h.ep.addr()); err != nil {
					b.Fatal(err)
				}
				if err := ref.callback(h.ep)(h.ep.addr(), remote, h.key); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// Every host hashed (HashKnownHosts yes): no index can avoid hashing
	// the host name once per line.
	b.Run("lines=1000/all-hashed", func(b *testing.B) {
		benchHostKeyCheck(b, writeBenchKnownHosts(b, 1000, 1000))
	})
}

func benchHostKeyCheck(b *testing.B, fx benchKnownHosts) {
	db := newHostKeyDB([]string{fx.path}, false)
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		h := fx.hosts[i%len(fx.hosts)]
		i++
		addr := h.ep.addr()
		algos, err := db.algorithms(addr)
		if err != nil || len(algos) == 0 {
			b.Fatalf("algorithms(%s) = %v, %v", addr, algos, err)
		}
		if err := db.callback(h.ep)(addr, remote, h.key); err != nil {
			b.Fatalf("callback(%s): %v", addr, err)
		}
	}
}

type benchKnownHosts struct {
	path  string
	hosts []benchHost // every host the file lists, with its key
}

type benchHost struct {
	ep  endpoint
	key ssh.PublicKey
}

// writeBenchKnownHosts writes a known_hosts file of n lines, hashed of them
// with hashed host names, and returns it with the hosts it lists.
func writeBenchKnownHosts(b testing.TB, n, hashed int) benchKnownHosts {
	b.Helper()
	fx := benchKnownHosts{path: filepath.Join(b.TempDir(), "known_hosts")}
	var sb strings.Builder
	authorized := func(k ssh.PublicKey) string { return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) }
	sb.WriteString("# known hosts for the benchmark\n")
	sb.WriteString("@cert-authority *.ca.example.com " + authorized(benchKey(0)) + "\n")
	sb.WriteString("@revoked * " + authorized(benchKey(1)) + "\n")
	for i := 3; i < n; i++ {
		key := benchKey(i)
		ep := endpoint{host: fmt.Sprintf("host-%05d.example.com", i), port: 22}
		if i%3 == 0 {
			ep = endpoint{host: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), port: 2222}
		}
		name := knownhosts.Normalize(ep.addr())
		if i-3 < hashed {
			name = knownhosts.HashHostname(name)
		}
		sb.WriteString(name + " " + authorized(key) + "\n")
		fx.hosts = append(fx.hosts, benchHost{ep: ep, key: key})
	}
	if err := os.WriteFile(fx.path, []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	return fx
}

// benchKey returns the i-th of a fixed series of ed25519 keys.
func benchKey(i int) ssh.PublicKey {
	seed := make([]byte, ed25519.SeedSize)
	binary.BigEndian.PutUint64(seed, uint64(i))
	k, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(seed).Public())
	if err != nil {
		panic(err)
	}
	return k
}

// BenchmarkHostKeyLoad times reading known_hosts of 10,000 lines, which
// happens once, and again after each change (each host accept-new adds).
func BenchmarkHostKeyLoad(b *testing.B) {
	fx := writeBenchKnownHosts(b, 10000, 4)
	stamp := []fileStamp{{exists: true}}
	b.ReportAllocs()
	for b.Loop() {
		if snap := loadHostKeys([]string{fx.path}, stamp); snap.loadErr != nil {
			b.Fatal(snap.loadErr)
		}
	}
}
