package keyfile

import (
	"encoding/json"
	"os"
	"strings"
	"syscall"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// WriteKnownHosts writes the known_hosts file at path: addrs[i]
// (ADDRESS:PORT) has the host key keys[i].
func WriteKnownHosts(path string, addrs []string, keys []ssh.PublicKey) error {
	var b strings.Builder
	for i, addr := range addrs {
		b.WriteString(knownhosts.Line([]string{knownhosts.Normalize(addr)}, keys[i]))
		b.WriteByte('\n')
	}
	return WriteAtomic(path, []byte(b.String()), 0o644)
}

// served is a lab's serve.json: which process serves which nodes, for
// other processes to find them.
type served[N any] struct {
	PID   int `json:"pid"`
	Nodes []N `json:"nodes"`
}

// WriteServed writes the serve file at path: this process serves nodes.
func WriteServed[N any](path string, nodes []N) error {
	data, err := json.MarshalIndent(served[N]{PID: os.Getpid(), Nodes: nodes}, "", "  ")
	if err != nil {
		return err
	}
	return WriteAtomic(path, append(data, '\n'), 0o644)
}

// ReadServed returns the nodes the serve file at path lists, or nil when
// there is none, it does not parse, or the process it names is gone.
func ReadServed[N any](path string) []N {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var st served[N]
	if json.Unmarshal(data, &st) != nil || st.PID <= 0 || syscall.Kill(st.PID, 0) != nil {
		return nil
	}
	return st.Nodes
}
