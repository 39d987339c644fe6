package ssh

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// TestHostKeyIndexAgreesWithKnownhosts compares, on random known_hosts
// files and random queries, the indexed check with the former one built
// on knownhosts.New (hostkeys_ref_test.go): the same load error, the same
// algorithms, the same keys and authorities found for a host, the same raw
// check result and the same HostKeyError, down to its file:line and text.
func TestHostKeyIndexAgreesWithKnownhosts(t *testing.T) {
	t.Parallel()
	g := &knownHostsGen{r: rand.New(rand.NewPCG(1, 2)), keys: testGenKeys(t)}
	var stats differentialStats
	for set := range 400 {
		dir := t.TempDir()
		var files []string
		for i := range 1 + g.r.IntN(3) {
			path := filepath.Join(dir, fmt.Sprintf("known_hosts%d", i))
			switch {
			case g.chance(8): // absent
			case g.chance(3):
				must(t, os.Mkdir(path, 0o700))
			default:
				must(t, os.WriteFile(path, []byte(g.file()), 0o600))
			}
			files = append(files, path)
		}
		queries := make([]hostKeyQuery, 60)
		for i := range queries {
			queries[i] = g.query()
		}
		if !compareHostKeyChecks(t, files, queries, &stats) {
			t.Fatalf("file set %d differs; files:\n%s", set, dumpFiles(files))
		}
	}
	t.Logf("%+v", stats)
	// The comparison must have met every outcome, or it proves little.
	for name, n := range map[string]int{"load errors": stats.loadErrors, "accepted": stats.accepted,
		"unknown": stats.unknown, "changed": stats.changed, "revoked": stats.revoked,
		"certificates accepted": stats.certAccepted, "invalid": stats.invalid, "authorities": stats.authorities} {
		if n == 0 {
			t.Errorf("no query was %s", name)
		}
	}
}

type differentialStats struct {
	loadErrors, accepted, unknown, changed, revoked, certAccepted, invalid, authorities int
}

// compareHostKeyChecks runs queries against both implementations over
// files and reports each difference; it returns whether there was none.
func compareHostKeyChecks(t testing.TB, files []string, queries []hostKeyQuery, stats *differentialStats) bool {
	t.Helper()
	ref := newRefHostKeys(files)
	db := newHostKeyDB(files, false)
	ok := true
	differ := func(what string, q hostKeyQuery, got, want string) {
		if withoutParseReason(got) == withoutParseReason(want) {
			return
		}
		t.Errorf("%s(%q, %v, %s):\n got %s\nwant %s", what, q.hostname, q.remote, keyString(q.key), got, want)
		ok = false
	}
	if stats != nil && ref.loadErr != nil {
		stats.loadErrors++
	}
	for _, q := range queries {
		gotAlgos, gotErr := db.algorithms(q.hostname)
		wantAlgos, wantErr := ref.algorithms(q.hostname)
		if got, want := fmt.Sprint(gotAlgos, gotErr), fmt.Sprint(wantAlgos, wantErr); got != want {
			differ("algorithms", q, got, want)
		}
		snap := db.current(0)
		if snap.loadErr == nil && ref.loadErr == nil {
			gotKeys, gotCA := snap.lookup(q.hostname)
			wantKeys, wantCA := ref.lookup(q.hostname)
			if got, want := describeKnown(gotKeys)+fmt.Sprint(" ca=", gotCA), describeKnown(wantKeys)+fmt.Sprint(" ca=", wantCA); got != want {
				differ("lookup", q, got, want)
			}
			if got, want := describeCheck(snap.check(q.hostname, q.remote, q.key)), describeCheck(ref.check(q.hostname, q.remote, q.key)); got != want {
				differ("check", q, got, want)
			}
			if stats != nil && wantCA {
				stats.authorities++
			}
		}
		ep := endpointOf(q.hostname)
		gotErr = db.callback(ep)(q.hostname, q.remote, q.key)
		wantErr = ref.callback(ep)(q.hostname, q.remote, q.key)
		if got, want := describeCallback(gotErr), describeCallback(wantErr); got != want {
			differ("callback", q, got, want)
		}
		if stats != nil {
			stats.count(wantErr, q.key)
		}
	}
	return ok
}

// parseReason is the reason a file with no valid line gives for its
// first invalid line: the words of whichever parser read it, x/crypto's
// ssh.ParseKnownHosts here, knownhosts' own in the reference.
var parseReason = regexp.MustCompile(`(no valid entries, line \d+): [^\n]*`)

func withoutParseReason(s string) string { return parseReason.ReplaceAllString(s, "$1") }

func (s *differentialStats) count(err error, key ssh.PublicKey) {
	var hk *HostKeyError
	_, cert := key.(*ssh.Certificate)
	switch {
	case err == nil && cert:
		s.certAccepted++
	case err == nil:
		s.accepted++
	case !errors.As(err, &hk):
	case hk.Problem == HostKeyUnknown:
		s.unknown++
	case hk.Problem == HostKeyChanged:
		s.changed++
	case hk.Problem == HostKeyRevoked:
		s.revoked++
	case hk.Problem == HostKeyInvalid:
		s.invalid++
	}
}

func describeKnown(keys []knownhosts.KnownKey) string {
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "[%s:%d %s %s]", k.Filename, k.Line, k.Key.Type(), base64.StdEncoding.EncodeToString(k.Key.Marshal()))
	}
	return b.String()
}

// describeCheck says what a knownhosts-style callback decided.
func describeCheck(err error) string {
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	switch {
	case err == nil:
		return "accepted"
	case errors.As(err, &ke):
		return "key error " + describeKnown(ke.Want)
	case errors.As(err, &re):
		return "revoked " + describeKnown([]knownhosts.KnownKey{re.Revoked})
	}
	return fmt.Sprintf("error %T %v", err, err)
}

// describeCallback says what the host key callback decided.
func describeCallback(err error) string {
	var hk *HostKeyError
	if err == nil || !errors.As(err, &hk) {
		return describeCheck(err)
	}
	return fmt.Sprintf("problem %d known %s err %v: %s", hk.Problem, describeKnown(hk.Known), hk.Err, hk.Error())
}

func dumpFiles(files []string) string {
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		fmt.Fprintf(&b, "== %s (%v)\n%q\n", f, err, data)
	}
	return b.String()
}

// Errors in loading, and which one is reported when several files are at
// fault: the former loader first read every file (with lines up to 1 MiB)
// to find the authorities, then had knownhosts parse them (lines up to
// 64 KiB, no file with invalid lines only).
func TestHostKeyIndexLoadErrors(t *testing.T) {
	t.Parallel()
	k := testGenKeys(t)
	good := knownhosts.Line([]string{"a"}, k.plain[0])
	long := "a " + strings.Repeat("x", 70<<10)
	huge := "a " + strings.Repeat("x", 1100<<10)
	const dir = "<dir>"
	q := []hostKeyQuery{{hostname: "a:22", remote: probeAddr, key: k.plain[0]}}
	for _, c := range []struct {
		name     string
		contents []string
		wantErr  string // "" for none
	}{
		{"no valid entries", []string{"garbage line here\n# comment\n@revoked\n"}, "no valid entries, line 1"},
		{"no valid entries then directory", []string{"garbage\n", dir}, "is a directory"},
		{"invalid and valid", []string{"garbage\n" + good + "\n"}, ""},
		{"line over 64 KiB", []string{good + "\n" + long + "\n"}, "token too long"},
		{"line over 64 KiB then directory", []string{long + "\n", dir}, "is a directory"},
		{"line over 1 MiB then directory", []string{huge + "\n", dir}, "token too long"},
		{"line over 1 MiB", []string{good + "\n" + huge + "\n"}, "token too long"},
		{"directory", []string{dir, good + "\n"}, "is a directory"},
		{"empty", []string{"", good}, ""},
		{"no final newline", []string{good}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			var files []string
			for i, content := range c.contents {
				path := filepath.Join(dir, fmt.Sprintf("f%d", i))
				if content == "<dir>" {
					must(t, os.Mkdir(path, 0o700))
				} else {
					must(t, os.WriteFile(path, []byte(content), 0o600))
				}
				files = append(files, path)
			}
			compareHostKeyChecks(t, files, q, nil)
			_, err := newHostKeyDB(files, false).algorithms("a:22")
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Errorf("load error %v, want %q", err, c.wantErr)
			}
		})
	}
}

// A check tries the lines that name the host, the hashed lines and the
// wildcard ones, and no other: its cost does not grow with the number of
// hosts listed.
func TestHostKeyIndexTriesFewLines(t *testing.T) {
	t.Parallel()
	fx := writeBenchKnownHosts(t, 10000, 4)
	snap := newHostKeyDB([]string{fx.path}, false).current(0)
	if snap.loadErr != nil {
		t.Fatal(snap.loadErr)
	}
	ix := snap.index
	// 4 hashed lines and "@cert-authority *.ca.example.com".
	if len(ix.scan) != 5 {
		t.Errorf("%d lines to try one by one, want 5", len(ix.scan))
	}
	for _, h := range fx.hosts[4:] {
		a := hostAddr{h.ep.host, fmt.Sprint(h.ep.port)}
		if n := len(ix.named[a]); n != 1 {
			t.Fatalf("%d lines listed under %v, want 1", n, a)
		}
	}
	for _, h := range []benchHost{fx.hosts[0], fx.hosts[len(fx.hosts)-1]} {
		keys, ca := snap.lookup(h.ep.addr())
		if len(keys) != 1 || !bytes.Equal(keys[0].Key.Marshal(), h.key.Marshal()) || ca {
			t.Errorf("lookup(%s) = %s, %v; want its key alone", h.ep.addr(), describeKnown(keys), ca)
		}
	}
}

// The host key callback relies on the stat of the files made by
// algorithms at the start of the same connection attempt, and stats them
// again when that is older than callbackStatReuse.
func TestHostKeyCallbackStatReuse(t *testing.T) {
	t.Parallel()
	k := testGenKeys(t)
	path := filepath.Join(t.TempDir(), "known_hosts")
	write := func(key ssh.PublicKey, mtime time.Time) {
		t.Helper()
		must(t, os.WriteFile(path, []byte(knownhosts.Line([]string{"a"}, key)+"\n"), 0o600))
		must(t, os.Chtimes(path, mtime, mtime))
	}
	ep := endpoint{host: "a", port: 22}
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22}
	changed := func(err error) bool {
		var hk *HostKeyError
		return errors.As(err, &hk) && hk.Problem == HostKeyChanged
	}
	db := newHostKeyDB([]string{path}, false)
	base := time.Now().Add(-time.Hour)
	write(k.plain[0], base)
	if _, err := db.algorithms("a:22"); err != nil {
		t.Fatal(err)
	}
	if err := db.callback(ep)("a:22", remote, k.plain[0]); err != nil {
		t.Fatalf("callback: %v", err)
	}
	// Changed during the attempt: seen from the next attempt on.
	write(k.plain[1], base.Add(time.Second))
	if err := db.callback(ep)("a:22", remote, k.plain[0]); err != nil {
		t.Fatalf("callback in the same attempt: %v", err)
	}
	if _, err := db.algorithms("a:22"); err != nil {
		t.Fatal(err)
	}
	if err := db.callback(ep)("a:22", remote, k.plain[0]); !changed(err) {
		t.Errorf("callback after the file changed: %v, want the key changed", err)
	}
	if err := db.callback(ep)("a:22", remote, k.plain[1]); err != nil {
		t.Errorf("callback with the new key: %v", err)
	}
	// A callback long after the last stat stats the files itself.
	write(k.plain[2], base.Add(2*time.Second))
	db.mu.Lock()
	db.statAt = db.statAt.Add(-callbackStatReuse)
	db.mu.Unlock()
	if err := db.callback(ep)("a:22", remote, k.plain[2]); err != nil {
		t.Errorf("callback after callbackStatReuse: %v", err)
	}
}

// FuzzHostKeyIndex compares the index with knownhosts on one file and one
// query. Seeded with lines of the random generator.
func FuzzHostKeyIndex(f *testing.F) {
	g := &knownHostsGen{r: rand.New(rand.NewPCG(3, 4)), keys: testGenKeys(f)}
	for range 20 {
		q := g.query()
		f.Add(g.file(), q.hostname, uint8(g.r.IntN(256)))
	}
	f.Fuzz(func(t *testing.T, content, hostname string, pick uint8) {
		// knownhosts' wildcard matching, which the index keeps, takes time
		// exponential in the number of '*' in a pattern.
		if strings.Count(content, "*") > 3 || len(hostname) > 100 {
			t.Skip()
		}
		k := testGenKeys(t)
		path := filepath.Join(t.TempDir(), "known_hosts")
		must(t, os.WriteFile(path, []byte(content), 0o600))
		all := append(append(append([]ssh.PublicKey{}, k.plain...), k.spare...), certKeys(k.certs)...)
		q := hostKeyQuery{hostname: hostname, remote: probeAddr, key: all[int(pick)%len(all)]}
		if !compareHostKeyChecks(t, []string{path}, []hostKeyQuery{q}, nil) {
			t.Fatalf("file:\n%q", content)
		}
	})
}

func certKeys(certs []*ssh.Certificate) []ssh.PublicKey {
	keys := make([]ssh.PublicKey, len(certs))
	for i, c := range certs {
		keys[i] = c
	}
	return keys
}

// Lines whose reading is odd, each compared with the former check on
// every host name of the generator and a few more.
func TestHostKeyIndexOddLines(t *testing.T) {
	t.Parallel()
	k := testGenKeys(t)
	key := func(pk ssh.PublicKey) string { return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk))) }
	lines := []string{
		"\v@cert-authority " + key(k.plain[0]), // a host named "\v@cert-authority", taken for an authority
		"\u00a0@cert-authority " + key(k.plain[1]),
		"@cert-authority\t*\t" + key(k.cas[0].PublicKey()),
		"a " + key(k.plain[2]) + "\r",
		"[::1] " + key(k.plain[0]),         // no port: invalid
		"::1 " + key(k.plain[1]),           // port 22
		"fe80::1:2222 " + key(k.plain[2]),  // not a port
		"10.0.0.1:2222 " + key(k.plain[3]), // a port, without brackets
		"!a,a " + key(k.plain[4]),
		"a,!a " + key(k.plain[4]),
		"!b.example.com,*.example.com " + key(k.plain[5]),
		",, " + key(k.plain[0]),
		"[]:22 " + key(k.plain[1]),
		"a,a,[a]:22 " + key(k.plain[3]),
		"A " + key(k.certs[0]),
		knownhosts.HashHostname("a") + ",b " + key(k.plain[0]),
		knownhosts.HashHostname("[a]:2222") + " " + key(k.plain[1]),
		"@revoked a,b " + key(k.spare[0]),
		"@revoked * " + key(k.spare[0]),
	}
	path := filepath.Join(t.TempDir(), "known_hosts")
	must(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	var queries []hostKeyQuery
	for _, h := range append(genHosts, "\v@cert-authority", "\u00a0@cert-authority", "", "fe80::1:2222") {
		for _, port := range genPorts {
			for _, pk := range append(append([]ssh.PublicKey{k.spare[0], k.certs[0]}, k.plain...), certKeys(k.certs[:10])...) {
				queries = append(queries, hostKeyQuery{hostname: net.JoinHostPort(h, port), remote: probeAddr, key: pk})
			}
		}
	}
	compareHostKeyChecks(t, []string{path}, queries, nil)
	// The odd authority is found as one.
	if _, ca := newHostKeyDB([]string{path}, false).current(0).lookup("\v@cert-authority:22"); !ca {
		t.Error(`"\v@cert-authority" is not taken for an authority`)
	}
}

// A known_hosts line is read by x/crypto's parser: what it reads, and why
// it refuses a line, are ssh.ParseKnownHosts' own; only what knownhosts.New
// refuses besides (an unknown or second marker, a line of one word) is
// refused here on top.
func TestKnownHostsLineParsedByXCrypto(t *testing.T) {
	k := testGenKeys(t)
	key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k.plain[0])))
	for _, line := range []string{
		"a,[b]:2222 " + key,
		"@cert-authority *.example.com " + key + " comment",
		"@revoked * " + key,
		"a " + key + "\r",
		"a ssh-ed25519",
		"a ssh-rsa " + strings.Fields(key)[1],
		"a ssh-ed25519 !!!notbase64",
	} {
		marker, pattern, got, err := parseKnownHostsLine([]byte(line))
		wantMarker, hosts, want, _, _, wantErr := ssh.ParseKnownHosts([]byte(line))
		if fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Errorf("%q: error %v, want x/crypto's %v", line, err, wantErr)
			continue
		}
		if err == nil && (marker != wantMarker || pattern != strings.Join(hosts, ",") || !bytes.Equal(got.Marshal(), want.Marshal())) {
			t.Errorf("%q: read %q %q %s, x/crypto reads %q %q %s", line, marker, pattern, keyString(got), wantMarker, hosts, keyString(want))
		}
	}
	for _, line := range []string{"@bogus a " + key, "@cert-authority @revoked a " + key, "oneword"} {
		if _, _, _, err := parseKnownHostsLine([]byte(line)); err == nil {
			t.Errorf("%q read, as knownhosts.New does not", line)
		}
	}
}
