package ssh

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// refHostKeys is runbook's host key check as it was before the index
// (commit 3107346), kept as the reference the index is compared with: a
// knownhosts.New callback over every file, which tries every line on each
// call, and a probe key to ask which keys a host has. accept-new is left
// out: it is the same code in both.
type refHostKeys struct {
	files       []string
	check       ssh.HostKeyCallback
	authorities map[string]bool
	loadErr     error
	probe       ssh.PublicKey
}

func newRefHostKeys(files []string) *refHostKeys {
	pub, _, _ := ed25519.GenerateKey(nil)
	probe, _ := ssh.NewPublicKey(pub)
	ref := &refHostKeys{files: files, authorities: map[string]bool{}, probe: probe}
	var present []string
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			continue
		}
		present = append(present, f)
		if err := refMarkAuthorities(f, ref.authorities); err != nil {
			ref.loadErr = fmt.Errorf("known_hosts: %w", err)
			return ref
		}
	}
	check, err := knownhosts.New(present...)
	if err != nil {
		ref.loadErr = fmt.Errorf("known_hosts: %w", err)
		return ref
	}
	ref.check = check
	return ref
}

func refMarkAuthorities(file string, into map[string]bool) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if bytes.HasPrefix(bytes.TrimSpace(sc.Bytes()), []byte("@cert-authority")) {
			into[file+":"+strconv.Itoa(n)] = true
		}
	}
	return sc.Err()
}

func (ref *refHostKeys) lookup(hostport string) (keys []knownhosts.KnownKey, ca bool) {
	if ref.check == nil {
		return nil, false
	}
	var ke *knownhosts.KeyError
	if err := ref.check(hostport, probeAddr, ref.probe); !errors.As(err, &ke) {
		return nil, false
	}
	for _, k := range ke.Want {
		if ref.authorities[k.Filename+":"+strconv.Itoa(k.Line)] {
			ca = true
		} else {
			keys = append(keys, k)
		}
	}
	return keys, ca
}

func (ref *refHostKeys) algorithms(hostport string) ([]string, error) {
	if ref.loadErr != nil {
		return nil, ref.loadErr
	}
	keys, ca := ref.lookup(hostport)
	var algos []string
	if ca {
		algos = append(algos, certAlgorithms...)
	}
	if len(keys) == 0 {
		return append(algos, plainAlgorithms...), nil
	}
	for _, k := range keys {
		for _, a := range algorithmsFor(k.Key.Type()) {
			if !slices.Contains(algos, a) {
				algos = append(algos, a)
			}
		}
	}
	rank := func(a string) int {
		if i := slices.Index(certAlgorithms, a); i >= 0 {
			return i
		}
		if i := slices.Index(plainAlgorithms, a); i >= 0 {
			return len(certAlgorithms) + i
		}
		return 100
	}
	slices.SortStableFunc(algos, func(a, b string) int { return rank(a) - rank(b) })
	return algos, nil
}

// callback is the host key callback without accept-new.
func (ref *refHostKeys) callback(ep endpoint) ssh.HostKeyCallback {
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		if ref.loadErr != nil {
			return ref.loadErr
		}
		err := ref.check(hostname, remote, key)
		if err == nil {
			return nil
		}
		hk := &HostKeyError{Host: knownhosts.Normalize(hostname), Presented: key, KnownHostsFiles: ref.files, port: ep.port, host: ep.host}
		var revoked *knownhosts.RevokedError
		var ke *knownhosts.KeyError
		switch {
		case errors.As(err, &revoked):
			hk.Problem, hk.Known = HostKeyRevoked, []knownhosts.KnownKey{revoked.Revoked}
		case errors.As(err, &ke):
			for _, k := range ke.Want {
				if !ref.authorities[k.Filename+":"+strconv.Itoa(k.Line)] {
					hk.Known = append(hk.Known, k)
				}
			}
			if len(hk.Known) > 0 {
				hk.Problem = HostKeyChanged
			} else {
				hk.Problem = HostKeyUnknown
			}
		default:
			hk.Problem, hk.Err = HostKeyInvalid, err
		}
		return hk
	}
}
