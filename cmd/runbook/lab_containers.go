package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runbookhq/runbook/lab"
	"github.com/runbookhq/runbook/lab/containers"
	"github.com/runbookhq/runbook/runbook/inventory"
)

// An inventory's lab hosts belong to the container lab (real Debian nodes,
// SPEC 10a) when they carry `lab: containers`; the others are the
// simulated lab's.
const (
	varLab        = "lab"
	labContainers = "containers"
)

func isContainerLabHost(h *inventory.Host) bool {
	return lab.Serves(h) && h.Vars[varLab] == labContainers
}

// usesContainerLab says whether the inventory's lab hosts are container
// nodes.
func usesContainerLab(inv *inventory.Inventory) bool {
	for _, h := range inv.Hosts {
		if isContainerLabHost(h) {
			return true
		}
	}
	return false
}

// containerLabDir is the container lab's state under the state directory.
func containerLabDir(state string) string { return filepath.Join(state, "containers") }

// containerLabSpecs are the inventory's container hosts as nodes: an
// address: var is the loopback address the node listens on, port: its
// sshd's port.
func containerLabSpecs(inv *inventory.Inventory) ([]containers.NodeSpec, error) {
	var specs []containers.NodeSpec
	for _, h := range inv.Hosts {
		if !lab.Serves(h) {
			continue
		}
		if !isContainerLabHost(h) {
			return nil, fmt.Errorf("%s is a simulated lab host but others have lab: containers; give each lab an inventory of its own", h.Name)
		}
		spec := containers.NodeSpec{Name: h.Name, Port: h.Port}
		if a, ok := h.Vars[inventory.VarAddress].(string); ok {
			spec.Address = a
		}
		specs = append(specs, spec)
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("the inventory has no host with transport: %s and lab: containers", lab.Transport)
	}
	return specs, nil
}

// startContainerLab returns how to reach the inventory's container nodes:
// through a `runbook lab serve` process of the same state directory when
// one runs them all, else nodes booted by this process.
func startContainerLab(state string, inv *inventory.Inventory, io *IO) (labFleet, error) {
	specs, err := containerLabSpecs(inv)
	if err != nil {
		return nil, err
	}
	dir := containerLabDir(state)
	if s := findServedContainerLab(dir, specs); s != nil {
		return s, nil
	}
	l, err := containers.Start(context.Background(), containers.Options{Dir: dir, Nodes: specs, Progress: io.Err})
	if err != nil {
		return nil, fmt.Errorf("start the container lab: %w", err)
	}
	return l, nil
}

// servedContainerLab is a container lab run by `runbook lab serve`.
type servedContainerLab struct {
	dir   string
	nodes map[string]containers.NodeInfo
}

func (s *servedContainerLab) Addr(node string) (string, int, error) {
	n, ok := s.nodes[node]
	if !ok {
		return "", 0, fmt.Errorf("%s is not a node of the container lab", node)
	}
	return n.Address, n.Port, nil
}
func (s *servedContainerLab) KnownHostsFile() string { return filepath.Join(s.dir, "known_hosts") }
func (s *servedContainerLab) IdentityFile() string   { return filepath.Join(s.dir, "id_ed25519") }
func (s *servedContainerLab) User() string           { return containers.LoginUser }
func (s *servedContainerLab) Close() error           { return nil }

func findServedContainerLab(dir string, specs []containers.NodeSpec) *servedContainerLab {
	served := containers.Served(dir)
	if served == nil {
		return nil
	}
	s := &servedContainerLab{dir: dir, nodes: map[string]containers.NodeInfo{}}
	for _, n := range served {
		s.nodes[n.Name] = n
	}
	for _, sp := range specs {
		if _, ok := s.nodes[sp.Name]; !ok {
			return nil
		}
	}
	return s
}

// containerLabCommand runs `lab serve|status|reset` for an inventory of
// container nodes; handled is false for any other inventory.
func containerLabCommand(verb string, g *globalOptions, io *IO, invPath string, portBase int) (handled bool, err error) {
	inv, err := loadInventory(invPath)
	if err != nil || !usesContainerLab(inv) {
		return false, nil // the simulated lab's command reports the error
	}
	state, err := g.stateDir()
	if err != nil {
		return true, usage(err)
	}
	specs, err := containerLabSpecs(inv)
	if err != nil {
		return true, usage(err)
	}
	dir := containerLabDir(state)
	switch verb {
	case "serve":
		if portBase > 0 {
			for i := range specs {
				specs[i].Port = portBase + i
			}
		}
		return true, containerLabServe(io, state, dir, specs)
	case "status":
		return true, containerLabStatus(io, dir, specs)
	default:
		names := make([]string, len(specs))
		for i, s := range specs {
			names[i] = s.Name
		}
		if err := containers.Reset(dir, names); err != nil {
			return true, err
		}
		fmt.Fprintf(io.Out, "reset %d container lab nodes in %s: they boot as the image is\n", len(names), dir)
		return true, nil
	}
}

func containerLabServe(io *IO, state, dir string, specs []containers.NodeSpec) error {
	l, err := containers.Start(context.Background(), containers.Options{Dir: dir, Nodes: specs, Progress: io.Err, Standalone: true})
	if err != nil {
		return err
	}
	defer l.Close()
	fmt.Fprintf(io.Out, "serving %d container lab nodes (Debian 12, state %s)\n", len(specs), dir)
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	for _, n := range l.Nodes() {
		fmt.Fprintf(tw, "%s\t%s:%d\n", n.Name, n.Address, n.Port)
	}
	tw.Flush()
	first := l.Nodes()[0]
	fmt.Fprintf(io.Out, "\nlog in with OpenSSH, e.g.:\n  ssh -i %s -o UserKnownHostsFile=%s -p %d %s@%s rbdemo --version\n",
		l.IdentityFile(), l.KnownHostsFile(), first.Port, l.User(), first.Address)
	fmt.Fprintf(io.Out, "runbook run/resume with --state-dir %s uses these nodes; Ctrl-C powers them off.\n", state)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	<-sigs
	fmt.Fprintln(io.Err, "runbook: powering the container lab off")
	return nil
}

func containerLabStatus(io *IO, dir string, specs []containers.NodeSpec) error {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	st, err := containers.Status(dir, names)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTATE\tADDRESS\tRBDEMO\tHELD\tSERVICE")
	for _, n := range st {
		state, addr, service := "stopped", "-", "-"
		if n.Running {
			state, addr, service = "running", fmt.Sprintf("%s:%d", n.Address, n.Port), n.Service
		}
		p := n.Packages["rbdemo"]
		version := p.Version
		if version == "" {
			version = "not installed"
		}
		if n.Err != "" {
			version, service = "?", "? "+n.Err
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\n", n.Name, state, addr, version, p.Held, service)
	}
	tw.Flush()
	var other []string
	for _, n := range st {
		for _, name := range containers.TestPackages[1:] {
			if v := n.Packages[name].Version; v != "" {
				other = append(other, fmt.Sprintf("%s has %s %s", n.Name, name, v))
			}
		}
	}
	if len(other) > 0 {
		fmt.Fprintf(io.Out, "\n%s\n", strings.Join(other, "\n"))
	}
	return nil
}

// newContainerLabRunE wraps a `lab` subcommand so that an inventory of
// container nodes goes to the container lab.
func newContainerLabRunE(verb string, g *globalOptions, io *IO, invPath *string, portBase *int, next func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, args []string) error {
		if handled, err := containerLabCommand(verb, g, io, *invPath, *portBase); handled {
			return err
		}
		return next(c, args)
	}
}
