package sim

import (
	"fmt"

	"github.com/runbookhq/runbook/lab/shell"
)

// rebootProgram reboots the node at once: new boot id, /run emptied,
// enabled services started again; the node's connections are then dropped
// (Machine.OnReboot).
func (w *World) rebootProgram(c *shell.Call) int {
	for _, a := range c.Args[1:] {
		switch a {
		case "-f", "--force", "-ff", "--no-wall", "-n", "--no-sync", "now":
		case "-h", "--help":
			fmt.Fprintf(c.Stdout, "reboot [OPTIONS...]\n\nReboot the system.\n")
			return 0
		default:
			fmt.Fprintf(c.Stderr, "reboot: unrecognized option '%s'\n", a)
			return 1
		}
	}
	return w.rebootNode(c)
}

// shutdownProgram handles `shutdown -r [now|+N|HH:MM]` as an immediate
// reboot (the lab does not wait); other shutdowns are refused, since the
// node would never come back.
func (w *World) shutdownProgram(c *shell.Call) int {
	reboot := false
	for _, a := range c.Args[1:] {
		switch a {
		case "-r", "--reboot":
			reboot = true
		case "-c":
			return 0
		}
	}
	if !reboot {
		fmt.Fprintf(c.Stderr, "lab: only `shutdown -r` is simulated (a powered-off node would stay down)\n")
		return 1
	}
	return w.rebootNode(c)
}

func (w *World) rebootNode(c *shell.Call) int {
	return w.run(c, func(p *pctx) int {
		if err := p.tx.reboot(p.n, p.root); err != nil {
			p.eprintf("%v\n", err)
			return 1
		}
		m := c.Machine
		p.tx.afterCommit(func() {
			if m.OnReboot != nil {
				m.OnReboot()
			}
		})
		return 0
	})
}
