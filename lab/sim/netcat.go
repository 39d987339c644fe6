package sim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/runbookhq/runbook/lab/shell"
)

// listenPort is a TCP port a node's services listen on.
type listenPort struct {
	port     int
	loopback bool   // bound to 127.0.0.1 only
	unit     string // the unit that must be active ("" for sshd: always)
	cpOnly   bool   // a control-plane static pod (needs crio and kubelet)
}

// nodePorts are the ports an Ubuntu 22.04 kubeadm node listens on: sshd,
// kubelet's API and healthz, and on a control plane the static pods.
var nodePorts = []listenPort{
	{port: 22},
	{port: 10248, loopback: true, unit: "kubelet"},
	{port: 10250, unit: "kubelet"},
	{port: 2379, unit: "kubelet", cpOnly: true},
	{port: 2380, unit: "kubelet", cpOnly: true},
	{port: 6443, unit: "kubelet", cpOnly: true},
	{port: 10257, loopback: true, unit: "kubelet", cpOnly: true},
	{port: 10259, loopback: true, unit: "kubelet", cpOnly: true},
}

// ncProgram is OpenBSD netcat's port probe, `nc -z [-v] [-w SECS] HOST
// PORT...`, as wait_for and health checks use it: a port is open when the
// service behind it runs on the node HOST names (this node by localhost,
// its name or address; another lab node by its name or address). Anything
// else is refused or does not resolve. Data transfer is not simulated.
func (w *World) ncProgram(c *shell.Call) int {
	cl, err := newFlagSpec("z,v,n,w:,4,6,u,q:,i:,N").parse(c.Args[1:])
	if err != nil {
		fmt.Fprintf(c.Stderr, "nc: %v\nusage: nc [-46CDdFhklNnrStUuvZz] [-w timeout] destination [port]\n", err)
		return 1
	}
	if !cl.has("z") {
		fmt.Fprintf(c.Stderr, "lab: nc: only port probes (nc -z HOST PORT) are simulated\n")
		return 1
	}
	if cl.has("u") {
		fmt.Fprintf(c.Stderr, "lab: nc: UDP is not simulated\n")
		return 1
	}
	if len(cl.args) < 2 {
		fmt.Fprintf(c.Stderr, "usage: nc [-46CDdFhklNnrStUuvZz] [-w timeout] destination [port]\n")
		return 1
	}
	host := cl.args[0]
	var ports []int
	for _, spec := range cl.args[1:] {
		lo, hi, ok := portRange(spec)
		if !ok {
			fmt.Fprintf(c.Stderr, "nc: port range not valid\n")
			return 1
		}
		for p := lo; p <= hi; p++ {
			ports = append(ports, p)
		}
	}
	verbose := cl.has("v")
	return w.read(c, func(p *pctx) int {
		target, local, ok := w.resolveHost(p, host)
		if !ok {
			p.eprintf("nc: getaddrinfo for host \"%s\" port %s: Temporary failure in name resolution\n", host, cl.args[1])
			return 1
		}
		open := map[int]bool{}
		for _, lp := range nodePorts {
			if lp.loopback && !local || lp.cpOnly && target.Role != RoleControlPlane {
				continue
			}
			if lp.unit != "" && !target.active(lp.unit) || lp.cpOnly && !target.active("crio") {
				continue
			}
			open[lp.port] = true
		}
		addr := host
		if a, ok := hostAddr(target, local); ok && cl.has("n") {
			addr = a
		}
		code := 1
		for _, port := range ports {
			if open[port] {
				code = 0
				if verbose {
					p.eprintf("Connection to %s %d port [tcp/%s] succeeded!\n", addr, port, serviceName(port))
				}
				continue
			}
			if verbose {
				a, _ := hostAddr(target, local)
				p.eprintf("nc: connect to %s port %d (tcp) failed: Connection refused\n", a, port)
			}
		}
		return code
	})
}

// resolveHost finds the node a host name or address designates, and
// whether it is the calling node through its loopback interface.
func (w *World) resolveHost(p *pctx, host string) (*nodeState, bool, bool) {
	switch host {
	case "localhost", "127.0.0.1", "::1", "ip6-localhost", "0.0.0.0":
		return p.n, true, true
	}
	names := make([]string, 0, len(w.configs))
	for _, cfg := range w.configs {
		names = append(names, cfg.Name)
	}
	sort.Strings(names)
	for _, name := range names {
		if host != name && host != nodeIP(w.index[name]) {
			continue
		}
		if name == p.n.Name {
			return p.n, false, true
		}
		n, err := p.tx.node(name)
		if err != nil {
			return nil, false, false
		}
		return n, false, true
	}
	return nil, false, false
}

func hostAddr(n *nodeState, local bool) (string, bool) {
	if local {
		return "127.0.0.1", true
	}
	if n == nil {
		return "", false
	}
	return nodeIP(n.Index), true
}

func serviceName(port int) string {
	if port == 22 {
		return "ssh"
	}
	return "*"
}

// portRange reads "PORT" or "LOW-HIGH".
func portRange(s string) (int, int, bool) {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := strconv.Atoi(lo)
	if err != nil || a < 1 || a > 65535 {
		return 0, 0, false
	}
	if !isRange {
		return a, a, true
	}
	b, err := strconv.Atoi(hi)
	if err != nil || b < a || b > 65535 || b-a > 1024 {
		return 0, 0, false
	}
	return a, b, true
}
