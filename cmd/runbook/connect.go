package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/runbookhq/runbook/lab"
	"github.com/runbookhq/runbook/runbook/inventory"
	"github.com/runbookhq/runbook/runbook/transport"
	rbssh "github.com/runbookhq/runbook/runbook/transport/ssh"
)

// connectFlags are the flags of every command that connects.
type connectFlags struct {
	AcceptNewHostKeys bool
	AskBecomePass     bool
	SessionPerCommand bool
}

// fleetConnector opens transports for inventory hosts: ssh hosts through one
// Dialer, lab hosts through a Dialer that trusts only the lab's own
// known_hosts, local hosts on the controller.
type fleetConnector struct {
	ssh        *rbssh.Dialer
	becomePass []byte

	labOnce  sync.Once
	labStart func() (labFleet, error)
	lab      labFleet
	labErr   error
	labSSH   *rbssh.Dialer

	sessionPerCommand bool

	// inventory is where proxy_jump hops naming inventory hosts are found.
	inventory *inventory.Inventory
}

// useInventory sets what the connector needs of the run's inventory: its
// hosts, for proxy_jump, and its lab nodes.
func (c *fleetConnector) useInventory(state string, inv *inventory.Inventory, io *IO) {
	c.inventory = inv
	c.labStart = labStarter(state, inv, io)
}

// labFleet is a running lab: where its nodes listen and how to log in.
type labFleet interface {
	Addr(node string) (string, int, error)
	KnownHostsFile() string
	IdentityFile() string
	User() string
	Close() error
}

func newFleetConnector(io *IO, f connectFlags, becomePass []byte) *fleetConnector {
	return &fleetConnector{
		becomePass: becomePass,
		ssh: rbssh.NewDialer(rbssh.Options{
			AcceptNewHostKeys: f.AcceptNewHostKeys,
			BecomePassword:    becomePass,
			Passphrase:        passphrasePrompt(io),
			SessionPerCommand: f.SessionPerCommand,
		}),
		sessionPerCommand: f.SessionPerCommand,
	}
}

// Connect implements engine.Connector.
func (c *fleetConnector) Connect(ctx context.Context, h *inventory.Host) (transport.Transport, error) {
	if lab.Serves(h) {
		return c.dialLab(ctx, h)
	}
	switch h.Transport {
	case inventory.TransportLocal:
		return transport.NewLocal(transport.LocalOptions{BecomePassword: c.becomePass}), nil
	case inventory.TransportSSH, "":
		t := sshTarget(h)
		jumps, err := c.jumpChain(h, map[string]bool{h.Name: true})
		if err != nil {
			return nil, err
		}
		t.Jumps = jumps
		return c.ssh.Dial(ctx, t)
	}
	return nil, fmt.Errorf("%s: no transport %q here (ssh, local, %s)", h.Name, h.Transport, lab.Transport)
}

// dialLab reaches a lab node through the lab, started on first use, with a
// Dialer that trusts only the lab's own known_hosts.
func (c *fleetConnector) dialLab(ctx context.Context, h *inventory.Host) (transport.Transport, error) {
	c.labOnce.Do(func() {
		if c.labStart == nil {
			c.labErr = fmt.Errorf("lab hosts need the lab, which this command does not start")
			return
		}
		c.lab, c.labErr = c.labStart()
		if c.labErr == nil {
			c.labSSH = rbssh.NewDialer(rbssh.Options{
				BecomePassword:    c.becomePass,
				KnownHostsFiles:   []string{c.lab.KnownHostsFile()},
				SSHConfigFile:     "none",
				AgentSocket:       "none",
				SessionPerCommand: c.sessionPerCommand,
			})
		}
	})
	if c.labErr != nil {
		return nil, c.labErr
	}
	host, port, err := c.lab.Addr(h.Name)
	if err != nil {
		return nil, err
	}
	return c.labSSH.Dial(ctx, rbssh.Target{Name: h.Name, Address: host, Port: port, User: c.lab.User(),
		IdentityFile: c.lab.IdentityFile(), ProxyJump: "none"})
}

func sshTarget(h *inventory.Host) rbssh.Target {
	return rbssh.Target{Name: h.Name, Address: h.Address, Port: h.Port, User: h.User,
		IdentityFile: h.IdentityFile, ProxyJump: h.ProxyJump}
}

// jumpChain lists the jump hosts of h's proxy_jump, first hop first. A
// hop that names an inventory host is that host, with its address, port,
// user, identity file and its own jump hosts before it, as an Ansible
// user expects of a bastion in the inventory; any other hop is
// "[user@]host[:port]" as OpenSSH reads it. Without proxy_jump the
// transport reads ssh_config's.
func (c *fleetConnector) jumpChain(h *inventory.Host, seen map[string]bool) ([]rbssh.Target, error) {
	jump := strings.TrimSpace(h.ProxyJump)
	if jump == "" || strings.EqualFold(jump, "none") || c.inventory == nil {
		return nil, nil
	}
	var chain []rbssh.Target
	for hop := range strings.SplitSeq(jump, ",") {
		hop = strings.TrimSpace(hop)
		jh := c.inventory.Host(hop)
		if jh == nil {
			t, err := rbssh.HopTarget(hop)
			if err != nil {
				return nil, fmt.Errorf("%s: proxy_jump: %w", h.Name, err)
			}
			chain = append(chain, t)
			continue
		}
		if seen[jh.Name] {
			return nil, fmt.Errorf("%s: proxy_jump: %s leads back to itself", h.Name, jh.Name)
		}
		if lab.Serves(jh) || jh.Transport != inventory.TransportSSH && jh.Transport != "" {
			return nil, fmt.Errorf("%s: proxy_jump: %s is not an ssh host, not one to jump through", h.Name, jh.Name)
		}
		seen[jh.Name] = true
		before, err := c.jumpChain(jh, seen)
		if err != nil {
			return nil, err
		}
		delete(seen, jh.Name)
		chain = append(append(chain, before...), sshTarget(jh))
	}
	return chain, nil
}

// Close closes the dialers and stops an in-process lab.
func (c *fleetConnector) Close() {
	c.ssh.Close()
	if c.labSSH != nil {
		c.labSSH.Close()
	}
	if c.lab != nil {
		c.lab.Close()
	}
}

// passphrasePrompt asks for a key's passphrase on the terminal.
func passphrasePrompt(io *IO) func(string) ([]byte, error) {
	return func(file string) ([]byte, error) {
		return readSecret(io, fmt.Sprintf("Passphrase for %s: ", file))
	}
}

// readSecret reads a line without echo from the controlling terminal.
// Echo is off before the prompt shows: an answer typed (or pasted) as
// soon as the prompt appears would otherwise be echoed.
func readSecret(io *IO, prompt string) ([]byte, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("no terminal to ask %q", strings.TrimSpace(prompt))
	}
	defer tty.Close()
	fd := int(tty.Fd())
	if saved, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil {
		quiet := *saved
		quiet.Lflag &^= unix.ECHO
		if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err == nil {
			defer unix.IoctlSetTermios(fd, unix.TCSETS, saved)
		}
	}
	fmt.Fprint(tty, prompt)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(tty)
	return b, err
}

// ttyApprover answers approval gates: --yes approves; otherwise the
// operator is asked on the terminal; without one the gate cannot be asked.
type ttyApprover struct {
	yes   bool
	io    *IO
	pause func()
	mu    sync.Mutex
}

func (a *ttyApprover) Approve(ctx context.Context, prompt string) (bool, string, error) {
	if a.yes {
		return true, "--yes", nil
	}
	if !a.io.InTTY {
		return false, "no-tty", fmt.Errorf("there is no terminal to ask and --yes was not given")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pause != nil {
		a.pause()
	}
	fmt.Fprintf(a.io.Err, "\n%s [y/N] ", prompt)
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(a.io.In).ReadString('\n')
		answer <- strings.ToLower(strings.TrimSpace(line))
	}()
	select {
	case <-ctx.Done():
		return false, "tty", ctx.Err()
	case s := <-answer:
		return s == "y" || s == "yes", "tty", nil
	}
}
