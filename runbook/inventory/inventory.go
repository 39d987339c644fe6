// Package inventory reads the hosts a runbook acts on: Ansible's YAML and INI
// inventory formats with group_vars/ and host_vars/ beside the file, resolved
// into hosts with their connection settings and merged variables, and the
// host patterns (`workers:!worker-3`) that select among them.
package inventory

import (
	"fmt"

	"github.com/runbookhq/runbook/runbook/diag"
)

// The product's own transports (Host.Transport). A caller may add others
// that it connects with itself (Options.Transports).
const (
	// TransportSSH reaches the host over SSH; it is the default.
	TransportSSH = "ssh"
	// TransportLocal runs commands on the controller itself.
	TransportLocal = "local"
)

// Names of the variables runbook reads itself. Their Ansible aliases
// (ansible_host, ansible_port, ...) are rewritten to these names when read.
const (
	// VarAddress is where to connect (ansible_host, ansible_ssh_host).
	VarAddress = "address"
	// VarPort is the port, an int (ansible_port, ansible_ssh_port).
	VarPort = "port"
	// VarUser is the login user (ansible_user, ansible_ssh_user).
	VarUser = "user"
	// VarIdentityFile is a private key file (ansible_ssh_private_key_file,
	// ansible_private_key_file).
	VarIdentityFile = "identity_file"
	// VarProxyJump is the jump host(s), as OpenSSH's ProxyJump takes them.
	VarProxyJump = "proxy_jump"
	// VarTransport is ssh, local or a transport the caller adds
	// (ansible_connection; its smart, paramiko and paramiko_ssh mean ssh).
	VarTransport = "transport"
	// VarLockPath overrides the remote lock directory of a host.
	VarLockPath = "lock_path"
)

// Host is one inventory host, resolved.
type Host struct {
	// Name is the inventory name, as patterns and delegate_to refer to it.
	Name string
	// Address is where to connect: the address var, else Name.
	Address string
	// Port is the port var; 0 means unset (the transport's default).
	Port int
	// User is the user var; "" means unset.
	User string
	// IdentityFile is the identity_file var, as written (not expanded).
	IdentityFile string
	// ProxyJump is the proxy_jump var ([user@]host[:port], comma-separated
	// hops, as OpenSSH takes it).
	ProxyJump string
	// Transport is TransportSSH (the default), TransportLocal, or a
	// transport the caller adds (Options.Transports).
	Transport string
	// Groups is every group the host belongs to, directly or through
	// children, in the order of Inventory.GroupOrder ("all" first).
	Groups []string
	// Vars are the host's variables, merged lowest first: the inline vars of
	// its groups (parent before child, groups of one depth in inventory
	// order), then group_vars/ files in the same order, then its inline host
	// vars, then host_vars/ files. Aliases are stored under the native names
	// (address, port, user, identity_file, proxy_jump, transport), with port
	// as an int and transport normalised. Each host owns its own copy.
	Vars map[string]any
	// File, Line and Col locate the host's first definition.
	File      string
	Line, Col int
}

// Group is one inventory group, as written (not resolved through children).
type Group struct {
	Name string
	// Hosts are the hosts listed directly in the group, in listing order.
	Hosts []string
	// Children are the group's direct child groups, in listing order. The
	// children of "all" include every group that has no other parent.
	Children []string
	// Vars are the group's own variables: its inline vars, then its
	// group_vars/ files.
	Vars map[string]any
}

// Inventory is a loaded inventory. It is not modified by its methods, so it
// may be read from several goroutines at once.
type Inventory struct {
	// File is the path or name the inventory was read from.
	File string
	// Hosts are all hosts in inventory order (first appearance).
	Hosts []*Host
	// Groups holds every group by name, including "all" and "ungrouped".
	Groups map[string]*Group
	// GroupOrder lists the group names: "all", "ungrouped", then the others
	// in order of first appearance.
	GroupOrder []string
	// Warnings are problems that did not stop the inventory from loading
	// (a host and a group of the same name, a group_vars file for a group
	// that does not exist).
	Warnings []*diag.Error
}

// Host returns the host called name, or nil.
func (inv *Inventory) Host(name string) *Host {
	for _, h := range inv.Hosts {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// String describes a host for debugging: name, address and transport.
func (h *Host) String() string {
	if h.Port != 0 {
		return fmt.Sprintf("%s (%s:%d via %s)", h.Name, h.Address, h.Port, h.Transport)
	}
	return fmt.Sprintf("%s (%s via %s)", h.Name, h.Address, h.Transport)
}
