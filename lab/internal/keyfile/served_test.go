package keyfile

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

type node struct {
	Name string `json:"name"`
	Port int    `json:"port"`
}

// A serve file reads back while its process lives, and not once it names a
// process that is gone or does not parse.
func TestServedRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "serve.json")
	if got := ReadServed[node](path); got != nil {
		t.Fatalf("no file: %+v", got)
	}
	want := []node{{"a", 2201}, {"b", 2202}}
	if err := WriteServed(path, want); err != nil {
		t.Fatal(err)
	}
	if got := ReadServed[node](path); len(got) != 2 || got[1] != want[1] {
		t.Fatalf("read back %+v, want %+v", got, want)
	}
	for name, data := range map[string]string{"gone": `{"pid": 2147483646, "nodes": [{"name": "a"}]}`, "garbled": `{"pid":`} {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := ReadServed[node](path); got != nil {
			t.Errorf("%s: %+v", name, got)
		}
	}
}

// The known_hosts written checks each address's key and refuses another's.
func TestWriteKnownHosts(t *testing.T) {
	dir := t.TempDir()
	var keys []ssh.PublicKey
	for _, n := range []string{"k1", "k2"} {
		s, _, err := LoadOrCreate(filepath.Join(dir, n), n)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, s.PublicKey())
	}
	addrs := []string{"127.0.0.1:2201", "127.0.0.2:22"}
	path := filepath.Join(dir, "known_hosts")
	if err := WriteKnownHosts(path, addrs, keys); err != nil {
		t.Fatal(err)
	}
	check, err := knownhosts.New(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, addr := range addrs {
		remote, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := check(addr, remote, keys[i]); err != nil {
			t.Errorf("%s with its key: %v", addr, err)
		}
		if err := check(addr, remote, keys[1-i]); err == nil {
			t.Errorf("%s accepted the other node's key", addr)
		}
	}
}
