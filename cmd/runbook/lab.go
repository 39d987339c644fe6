package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runbookhq/runbook/lab"
	"github.com/runbookhq/runbook/runbook/inventory"
)

// labDir is the lab's state under the state directory.
func labDir(state string) string { return filepath.Join(state, "lab") }

// labNodes are the inventory's hosts the lab serves, as lab nodes; an
// inventory without any is an error here.
func labNodes(inv *inventory.Inventory) ([]lab.NodeSpec, error) {
	specs, err := lab.Nodes(inv)
	if err != nil {
		return nil, err
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("the inventory has no host with transport: %s", lab.Transport)
	}
	return specs, nil
}

// servedLab is a lab served by another process (`runbook lab serve`).
type servedLab struct {
	dir   string
	nodes map[string]string
}

func (s *servedLab) Addr(node string) (string, int, error) { return splitAddr(s.nodes[node], node) }
func (s *servedLab) KnownHostsFile() string                { return filepath.Join(s.dir, "known_hosts") }
func (s *servedLab) IdentityFile() string                  { return filepath.Join(s.dir, "id_ed25519") }
func (s *servedLab) User() string                          { return lab.User }
func (s *servedLab) Close() error                          { return nil }

// inProcessLab is a lab this process started.
type inProcessLab struct{ *lab.Lab }

func (l inProcessLab) Addr(node string) (string, int, error) {
	return splitAddr(l.Lab.Addr(node), node)
}

func splitAddr(addr, node string) (string, int, error) {
	if addr == "" {
		return "", 0, fmt.Errorf("%s is not a lab node", node)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	p, err := strconv.Atoi(port)
	return host, p, err
}

// labStarter returns how to reach the inventory's lab hosts: through a
// `runbook lab serve` process of the same state directory when one serves
// them all, else a lab started in this process.
func labStarter(state string, inv *inventory.Inventory, io *IO) func() (labFleet, error) {
	return func() (labFleet, error) {
		if usesContainerLab(inv) {
			return startContainerLab(state, inv, io)
		}
		specs, err := labNodes(inv)
		if err != nil {
			return nil, err
		}
		dir := labDir(state)
		if s := findServedLab(dir, specs); s != nil {
			return s, nil
		}
		l, err := lab.Start(context.Background(), lab.Options{Dir: dir, Nodes: specs})
		if err != nil {
			return nil, fmt.Errorf("start the lab: %w", err)
		}
		return inProcessLab{l}, nil
	}
}

// findServedLab returns the lab a live `lab serve` process serves in dir,
// when it serves every node of specs.
func findServedLab(dir string, specs []lab.NodeSpec) *servedLab {
	nodes := lab.Served(dir)
	if nodes == nil {
		return nil
	}
	s := &servedLab{dir: dir, nodes: map[string]string{}}
	for _, n := range nodes {
		s.nodes[n.Name] = n.Addr
	}
	for _, sp := range specs {
		if s.nodes[sp.Name] == "" {
			return nil
		}
	}
	return s
}

func newLabCmd(g *globalOptions, io *IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "The built-in lab: simulated Ubuntu 22.04 / CRI-O nodes over real SSH",
		Long: `The lab serves the inventory's hosts with transport: lab as SSH servers on
127.0.0.1, each a simulated Ubuntu 22.04 node running CRI-O and kubelet in one
shared simulated Kubernetes cluster. Its state lives in STATE_DIR/lab.`,
	}
	var invPath string
	var portBase int
	var address string
	serve := &cobra.Command{
		Use:   "serve -i INVENTORY",
		Short: "Serve the lab nodes until interrupted, printing their addresses",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return labServe(g, io, invPath, portBase, address)
		},
	}
	serve.Flags().IntVar(&portBase, "port-base", 0, "listen on consecutive ports from this one (default: free ports)")
	serve.Flags().StringVar(&address, "address", "127.0.0.1", "the loopback address (127.0.0.0/8) to listen on")
	var archive bool
	status := &cobra.Command{
		Use:   "status -i INVENTORY",
		Short: "Show each node's versions, services and pods (--archive: the packages the lab's apt archive offers)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if archive {
				return labArchive(io)
			}
			return labStatus(g, io, invPath)
		},
	}
	status.Flags().BoolVar(&archive, "archive", false, "list the packages and versions the lab's apt archive offers, and where")
	reset := &cobra.Command{
		Use:   "reset -i INVENTORY",
		Short: "Put every lab node back into its initial state",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			state, specs, err := labArgs(g, invPath)
			if err != nil {
				return err
			}
			if err := lab.Reset(labDir(state), specs); err != nil {
				return err
			}
			fmt.Fprintf(io.Out, "reset %d lab nodes in %s\n", len(specs), labDir(state))
			return nil
		},
	}
	for _, c := range []*cobra.Command{serve, status, reset} {
		c.Flags().StringVarP(&invPath, "inventory", "i", "", "inventory whose transport: lab hosts make the lab")
		c.RunE = newContainerLabRunE(c.Name(), g, io, &invPath, &portBase, c.RunE)
		cmd.AddCommand(c)
	}
	return cmd
}

func labArgs(g *globalOptions, invPath string) (string, []lab.NodeSpec, error) {
	state, err := g.stateDir()
	if err != nil {
		return "", nil, usage(err)
	}
	inv, err := loadInventory(invPath)
	if err != nil {
		return "", nil, err
	}
	specs, err := labNodes(inv)
	if err != nil {
		return "", nil, usage(err)
	}
	return state, specs, nil
}

func labServe(g *globalOptions, io *IO, invPath string, portBase int, address string) error {
	state, specs, err := labArgs(g, invPath)
	if err != nil {
		return err
	}
	if portBase > 0 {
		for i := range specs {
			specs[i].Port = portBase + i
		}
	}
	l, err := lab.Start(context.Background(), lab.Options{Dir: labDir(state), Nodes: specs, Standalone: true, Address: address})
	if err != nil {
		return err
	}
	defer l.Close()
	fmt.Fprintf(io.Out, "serving %d lab nodes (state %s)\n", len(specs), labDir(state))
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	for _, n := range l.Nodes() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", n.Name, n.Role, n.Addr)
	}
	tw.Flush()
	if nodes := l.Nodes(); len(nodes) > 0 {
		host, _, _ := net.SplitHostPort(nodes[0].Addr)
		fmt.Fprintf(io.Out, "\nlog in with OpenSSH, e.g.:\n  ssh -i %s -o UserKnownHostsFile=%s -p %d %s@%s crio --version\n",
			l.IdentityFile(), l.KnownHostsFile(), nodes[0].Port, l.User(), host)
		fmt.Fprintf(io.Out, "runbook run/resume with --state-dir %s uses these nodes; Ctrl-C stops serving.\n", state)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	<-sigs
	fmt.Fprintln(io.Err, "runbook: lab stopped")
	return nil
}

// labArchive lists the packages and versions of the lab's apt archive, by
// repository: what a runbook rehearsed on the lab can install.
func labArchive(io *IO) error {
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REPOSITORY\tPACKAGE\tVERSIONS")
	for _, p := range lab.Archive() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Repository, p.Name, strings.Join(p.Versions, " "))
	}
	return tw.Flush()
}

func labStatus(g *globalOptions, io *IO, invPath string) error {
	state, specs, err := labArgs(g, invPath)
	if err != nil {
		return err
	}
	st, err := lab.Status(labDir(state), specs)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tROLE\tKERNEL\tCRI-O\tKUBELET\tCRIO\tKUBELET\tREADY\tSCHEDULING\tRUNTIME\tPODS")
	for _, n := range st {
		ready := "NotReady"
		if n.Ready {
			ready = "Ready"
		}
		sched := "schedulable"
		if n.Cordoned {
			sched = "cordoned"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", n.Name, n.Role, n.Kernel, n.CrioVersion, n.KubeletVersion,
			n.Services["crio"], n.Services["kubelet"], ready, sched, n.DefaultRuntime, len(n.Pods))
	}
	tw.Flush()
	fmt.Fprintln(io.Out)
	tw = tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tPOD\tSANDBOX\tCREATED\tRESTARTS\tREADY")
	for _, n := range st {
		for _, p := range n.Pods {
			id := p.SandboxID
			if len(id) > 13 {
				id = id[:13]
			}
			fmt.Fprintf(tw, "%s\t%s/%s\t%s\t%s\t%d\t%v\n", n.Name, p.Namespace, p.Name, id,
				p.Created.Local().Format("15:04:05"), p.Restarts, p.Ready)
		}
	}
	tw.Flush()
	return nil
}
