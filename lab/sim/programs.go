package sim

import (
	"bytes"
	"fmt"
	"os"

	"github.com/runbookhq/runbook/lab/shell"
)

// newPrograms returns the simulated system's programs, bound to the world.
func (w *World) newPrograms() map[string]shell.Program {
	return map[string]shell.Program{
		"apt-get":    w.aptGetProgram,
		"apt":        w.aptProgram,
		"apt-cache":  w.aptCacheProgram,
		"apt-mark":   w.aptMarkProgram,
		"dpkg":       w.dpkgProgram,
		"dpkg-query": w.dpkgQueryProgram,
		"systemctl":  w.systemctlProgram,
		"journalctl": w.journalctlProgram,
		"crio":       w.crioProgram,
		"crictl":     w.crictlProgram,
		"kubectl":    w.kubectlProgram,
		"kubelet":    w.kubeletProgram,
		"reboot":     w.rebootProgram,
		"shutdown":   w.shutdownProgram,
		"curl":       w.curlProgram,
		"gpg":        w.gpgProgram,
		"nc":         w.ncProgram,
		"netcat":     w.ncProgram,
	}
}

// pctx is what a program sees inside a transaction: its node, the node's
// root, and buffers for its output (written to the caller once the world's
// locks are released, so that a slow reader never holds them up).
type pctx struct {
	tx   *txn
	n    *nodeState
	root *os.Root
	call *shell.Call
	out  *bytes.Buffer
	err  *bytes.Buffer
}

func (p *pctx) printf(format string, a ...any)  { fmt.Fprintf(p.out, format, a...) }
func (p *pctx) eprintf(format string, a ...any) { fmt.Fprintf(p.err, format, a...) }

// run runs fn as one transaction on the calling node and returns its exit
// status.
func (w *World) run(c *shell.Call, fn func(p *pctx) int) int {
	return w.transact(c, false, fn)
}

// read is run for programs that only look: the nodes they read are not
// compared with their files at commit (what they change is not written).
func (w *World) read(c *shell.Call, fn func(p *pctx) int) int {
	return w.transact(c, true, fn)
}

func (w *World) transact(c *shell.Call, readOnly bool, fn func(p *pctx) int) int {
	var out, errb bytes.Buffer
	code := 1
	err := w.do(func(tx *txn) error {
		tx.readOnly = readOnly
		out.Reset()
		errb.Reset()
		if c.Machine == nil || c.Machine.Root == nil {
			return fmt.Errorf("program called without a machine")
		}
		n, err := tx.node(c.Machine.Name)
		if err != nil {
			return err
		}
		code = fn(&pctx{tx: tx, n: n, root: c.Machine.Root, call: c, out: &out, err: &errb})
		return nil
	})
	if c.Stdout != nil {
		c.Stdout.Write(out.Bytes())
	}
	if c.Stderr != nil {
		c.Stderr.Write(errb.Bytes())
		if err != nil {
			fmt.Fprintf(c.Stderr, "%s: %v\n", progName(c), err)
		}
	}
	if err != nil {
		return 1
	}
	return code
}

// progName is the program name as invoked, without its directory.
func progName(c *shell.Call) string {
	if len(c.Args) == 0 {
		return "lab"
	}
	name := c.Args[0]
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			return name[i+1:]
		}
	}
	return name
}

// env looks up a variable of the calling shell, falling back to the
// machine's environment.
func env(c *shell.Call, name string) string {
	if c.Env != nil {
		if v := c.Env(name); v != "" {
			return v
		}
	}
	if c.Machine != nil {
		return c.Machine.Env[name]
	}
	return ""
}
