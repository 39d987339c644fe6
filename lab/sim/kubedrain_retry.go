package sim

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/runbookhq/runbook/lab/shell"
)

// drainRetry is how long a drain waits before it asks again for an
// eviction a disruption budget refused (kubectl waits 5s; the lab less,
// so that tests with short timeouts see several attempts).
const drainRetry = time.Second

// pendingEviction is a pod a drain could not evict yet.
type pendingEviction struct {
	Node, Namespace, Name string
}

// evict evicts q from n unless a disruption budget forbids it now, and
// prints what kubectl prints either way; it reports whether q went.
func (p *pctx) evict(n *nodeState, q *pod) (bool, error) {
	b, err := p.blockingBudget(q)
	if err != nil {
		return false, err
	}
	if b != nil {
		p.eprintf("error when evicting pods/%q -n %q (will retry after %s): Cannot evict pod as it would violate the pod's disruption budget.\n", q.Name, q.Namespace, drainRetry)
		return false, nil
	}
	if err := p.tx.deletePod(n, q); err != nil {
		return false, err
	}
	p.printf("pod/%s evicted\n", q.Name)
	return true, nil
}

// evictAll evicts the pods of a drained node that their budgets let go,
// and returns the others; with none held back the node is drained.
func (p *pctx) evictAll(n *nodeState, evict []*pod) ([]pendingEviction, error) {
	for _, q := range evict {
		p.eprintf("evicting pod %s/%s\n", q.Namespace, q.Name)
	}
	var held []pendingEviction
	for _, q := range evict {
		done, err := p.evict(n, q)
		if err != nil {
			return nil, err
		}
		if !done {
			held = append(held, pendingEviction{Node: n.Name, Namespace: q.Namespace, Name: q.Name})
		}
	}
	if len(held) == 0 {
		p.printf("node/%s drained\n", n.Name)
	}
	return held, nil
}

// kubectlDrainRetrying runs kubectl drain as a sequence of transactions:
// the first cordons and evicts what it may; while a disruption budget
// holds pods back, the next ones (outside the world's locks, every
// drainRetry) try those again, until --timeout (0, the default, waits
// for ever) ends the drain with kubectl's "global timeout reached".
func (w *World) kubectlDrainRetrying(c *shell.Call, cl *cmdline, args []string) int {
	var timeout time.Duration
	if v, ok := cl.value("timeout"); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			fmt.Fprintf(c.Stderr, "error: invalid argument %q for \"--timeout\" flag: %v\n", v, err)
			return 1
		}
		timeout = d
	}
	deadline := time.Now().Add(timeout)
	var pending []pendingEviction
	code := w.run(c, func(p *pctx) int {
		if code := p.kubectlUsable(cl); code != 0 {
			return code
		}
		code, held := p.kubectlDrain(args, cl)
		pending = held
		return code
	})
	ctx := c.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	for len(pending) > 0 {
		wait := drainRetry
		if timeout > 0 {
			wait = min(wait, time.Until(deadline))
		}
		if wait > 0 {
			select {
			case <-ctx.Done():
				return 130
			case <-time.After(wait):
			}
		}
		if timeout > 0 && !time.Now().Before(deadline) {
			held := pending
			return w.run(c, func(p *pctx) int { return p.drainTimedOut(held, timeout) })
		}
		code = w.run(c, func(p *pctx) int {
			var err error
			pending, err = p.retryEvictions(pending)
			if err != nil {
				p.eprintf("error: %v\n", err)
				return 1
			}
			return 0
		})
		if code != 0 {
			return code
		}
	}
	return code
}

// retryEvictions tries the pending evictions again and returns those
// still held back; a node left with none is drained.
func (p *pctx) retryEvictions(pending []pendingEviction) ([]pendingEviction, error) {
	var still []pendingEviction
	nodes := []string{}
	for _, pe := range pending {
		if !contains(nodes, pe.Node) {
			nodes = append(nodes, pe.Node)
		}
		n, err := p.tx.node(pe.Node)
		if err != nil {
			return nil, err
		}
		var q *pod
		for _, x := range n.Pods {
			if x.Namespace == pe.Namespace && x.Name == pe.Name {
				q = x
			}
		}
		if q == nil {
			continue // gone meanwhile
		}
		p.eprintf("evicting pod %s/%s\n", q.Namespace, q.Name)
		done, err := p.evict(n, q)
		if err != nil {
			return nil, err
		}
		if !done {
			still = append(still, pe)
		}
	}
	for _, name := range nodes {
		held := false
		for _, pe := range still {
			held = held || pe.Node == name
		}
		if !held {
			p.printf("node/%s drained\n", name)
		}
	}
	return still, nil
}

// drainTimedOut prints what kubectl prints when the drain's timeout
// passes with pods still held back, and returns its exit status.
func (p *pctx) drainTimedOut(pending []pendingEviction, timeout time.Duration) int {
	byNode := map[string][]string{}
	var nodes []string
	for _, pe := range pending {
		if _, ok := byNode[pe.Node]; !ok {
			nodes = append(nodes, pe.Node)
		}
		byNode[pe.Node] = append(byNode[pe.Node], fmt.Sprintf("error when evicting pods/%q -n %q: global timeout reached: %s", pe.Name, pe.Namespace, timeout))
	}
	for _, n := range nodes {
		errs := "[" + strings.Join(byNode[n], ", ") + "]"
		p.eprintf("There are pending pods in node %q when an error occurred: %s\n", n, errs)
		p.eprintf("error: unable to drain node %q due to error: %s, continuing command...\n", n, errs)
	}
	p.eprintf("There are pending nodes to be drained:\n")
	for _, n := range nodes {
		p.eprintf(" %s\n", n)
	}
	for _, n := range nodes {
		for _, e := range byNode[n] {
			p.eprintf("%s\n", e)
		}
	}
	return 1
}
