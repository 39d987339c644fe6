package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// floorSpec is the work of the floor client: the bench writes it, the
// bench binary re-executed with -floor runs it.
type floorSpec struct {
	Addrs      []string `json:"addrs"`
	User       string   `json:"user"`
	KeyFile    string   `json:"key_file"`
	KnownHosts string   `json:"known_hosts"`
	// Commands are the steps' command lines, run in order on every host.
	Commands []string `json:"commands"`
}

// floorMain is the floor: a minimal x/crypto/ssh client with one connection
// per host and one session per step, every host at once, host keys checked
// against known_hosts. Nothing is journaled, locked or printed.
func floorMain(specFile string) error {
	data, err := os.ReadFile(specFile)
	if err != nil {
		return err
	}
	var spec floorSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		return err
	}
	key, err := os.ReadFile(spec.KeyFile)
	if err != nil {
		return err
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		return err
	}
	check, err := knownhosts.New(spec.KnownHosts)
	if err != nil {
		return err
	}
	cfg := &ssh.ClientConfig{User: spec.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: check}
	errs := make([]error, len(spec.Addrs))
	var wg sync.WaitGroup
	for i, addr := range spec.Addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = floorHost(addr, cfg, spec.Commands)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// floorHost runs each command in a session of its own on one connection,
// its output read into memory, as a client that reports it would.
func floorHost(addr string, cfg *ssh.ClientConfig, commands []string) error {
	c, err := ssh.Dial("tcp", addr, cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", addr, err)
	}
	defer c.Close()
	for i, command := range commands {
		s, err := c.NewSession()
		if err != nil {
			return fmt.Errorf("%s: step %d: %w", addr, i+1, err)
		}
		var out, errOut bytes.Buffer
		s.Stdout, s.Stderr = &out, &errOut
		err = s.Run(command)
		s.Close()
		if err != nil {
			return fmt.Errorf("%s: step %d: %w: %s", addr, i+1, err, bytes.TrimSpace(errOut.Bytes()))
		}
	}
	return nil
}
