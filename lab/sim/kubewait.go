package sim

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/runbookhq/runbook/lab/shell"
)

// kubectlWait polls, outside the world's locks, until the condition holds
// or the timeout (default 30s) passes.
func (w *World) kubectlWait(c *shell.Call, cl *cmdline, args []string) int {
	forCond, ok := cl.value("for")
	if !ok {
		fmt.Fprintf(c.Stderr, "error: --for must be specified\n")
		return 1
	}
	timeout := 30 * time.Second
	if v, ok := cl.value("timeout"); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			fmt.Fprintf(c.Stderr, "error: invalid argument %q for \"--timeout\" flag: %v\n", v, err)
			return 1
		}
		timeout = d
	}
	ctx := c.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	deadline := time.Now().Add(timeout)
	for {
		done, code := false, 0
		rc := w.read(c, func(p *pctx) int {
			if !p.hasKubeconfig(cl) {
				p.eprintf("The connection to the server localhost:8080 was refused - did you specify the right host or port?\n")
				done = true
				return 1
			}
			met, targets, errCode := p.waitCheck(forCond, args, cl)
			if errCode != 0 {
				done = true
				return errCode
			}
			if met {
				for _, t := range targets {
					p.printf("%s condition met\n", t)
				}
				done = true
				return 0
			}
			if !time.Now().Before(deadline) {
				for _, t := range targets {
					kind, name, _ := strings.Cut(t, "/")
					p.eprintf("error: timed out waiting for the condition on %ss/%s\n", kind, name)
				}
				done = true
				return 1
			}
			return 0
		})
		code = rc
		if done {
			return code
		}
		select {
		case <-ctx.Done():
			return 130
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitCheck evaluates kubectl wait's condition on its targets.
func (p *pctx) waitCheck(forCond string, args []string, cl *cmdline) (bool, []string, int) {
	kind, names, err := splitResourceArgs(args)
	if err != nil || kind == "namespaces" {
		p.eprintf("error: %v\n", err)
		return false, nil, 1
	}
	wantStatus := "True"
	cond := ""
	if forCond != "delete" {
		c, ok := strings.CutPrefix(forCond, "condition=")
		if !ok {
			p.eprintf("error: unrecognized condition: %q\n", forCond)
			return false, nil, 1
		}
		cond = c
		if k, v, ok := strings.Cut(c, "="); ok {
			cond = k
			wantStatus = map[string]string{"true": "True", "false": "False"}[strings.ToLower(v)]
			if wantStatus == "" {
				wantStatus = v
			}
		}
	}
	labels, err := parseLabelSelector(valueOr(cl, "", "l", "selector"))
	if err != nil {
		p.eprintf("error: %v\n", err)
		return false, nil, 1
	}
	type target struct {
		name string
		obj  map[string]any
	}
	var targets []target
	singular := strings.TrimSuffix(kind, "s")
	switch kind {
	case "nodes":
		all, err := p.tx.allNodes()
		if err != nil {
			p.eprintf("error: %v\n", err)
			return false, nil, 1
		}
		for _, n := range all {
			obj := nodeObject(n, p.tx.now)
			if (len(names) == 0 && (cl.has("all") || len(labels) > 0) && labels.matches(obj)) || contains(names, n.Name) {
				targets = append(targets, target{n.Name, obj})
			}
		}
	case "pods":
		ns := namespaceOf(cl)
		if cl.has("A", "all-namespaces") {
			ns = ""
		}
		refs, err := p.collectPods(ns, nil)
		if err != nil {
			p.eprintf("error: %v\n", err)
			return false, nil, 1
		}
		for _, r := range refs {
			obj := podObject(r.p, r.hostIP())
			if (len(names) == 0 && (cl.has("all") || len(labels) > 0) && labels.matches(obj)) || contains(names, r.p.Name) {
				targets = append(targets, target{r.p.Name, obj})
			}
		}
	}
	var out []string
	for _, t := range targets {
		out = append(out, singular+"/"+t.name)
	}
	if forCond == "delete" {
		for _, name := range names {
			found := false
			for _, t := range targets {
				found = found || t.name == name
			}
			if !found {
				out = append(out, singular+"/"+name)
			}
		}
		return len(targets) == 0, out, 0
	}
	for _, name := range names {
		found := false
		for _, t := range targets {
			found = found || t.name == name
		}
		if !found {
			p.eprintf("Error from server (NotFound): %s %q not found\n", kind, name)
			return false, nil, 1
		}
	}
	if len(targets) == 0 {
		p.eprintf("error: no matching resources found\n")
		return false, nil, 1
	}
	for _, t := range targets {
		st, _ := t.obj["status"].(map[string]any)
		conds, _ := st["conditions"].([]any)
		ok := false
		for _, c := range conds {
			cm, _ := c.(map[string]any)
			if strings.EqualFold(fmt.Sprint(cm["type"]), cond) && cm["status"] == wantStatus {
				ok = true
			}
		}
		if !ok {
			return false, out, 0
		}
	}
	return true, out, 0
}
