package sim

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// findSandbox resolves a (prefix of a) sandbox id.
func (p *pctx) findSandbox(id string) (*sandbox, string) {
	var found *sandbox
	for _, s := range p.n.Sandboxes {
		if strings.HasPrefix(s.ID, id) {
			if found != nil {
				return nil, fmt.Sprintf("rpc error: code = Unknown desc = could not find pod %q: ambiguous ID", id)
			}
			found = s
		}
	}
	if found == nil || id == "" {
		return nil, fmt.Sprintf("rpc error: code = NotFound desc = could not find pod %q: PodSandbox with ID starting with %s not found: ID does not exist", id, id)
	}
	return found, ""
}

func (p *pctx) crictlInspectp(ids []string) int {
	if len(ids) == 0 {
		p.eprintf("time=%q level=fatal msg=\"ID cannot be empty\"\n", p.tx.now.UTC().Format(time.RFC3339))
		return 1
	}
	for _, id := range ids {
		s, msg := p.findSandbox(id)
		if s == nil {
			p.eprintf("time=%q level=fatal msg=%q\n", p.tx.now.UTC().Format(time.RFC3339), "getting the pod sandbox status for \""+id+"\": "+msg)
			return 1
		}
		network := "POD"
		if p.n.Node.InternalIP == s.IP {
			network = "NODE"
		}
		doc := map[string]any{
			"status": map[string]any{
				"id":        s.ID,
				"metadata":  map[string]any{"attempt": s.Attempt, "name": s.PodName, "namespace": s.Namespace, "uid": s.PodUID},
				"state":     s.State,
				"createdAt": s.Created.UTC().Format(time.RFC3339Nano),
				"network":   map[string]any{"additionalIps": []string{}, "ip": s.IP},
				"linux": map[string]any{"namespaces": map[string]any{"options": map[string]any{
					"ipc": "POD", "network": network, "pid": "CONTAINER", "targetId": "", "userNs": nil,
				}}},
				"labels":         s.Labels,
				"annotations":    sandboxAnnotations(s),
				"runtimeHandler": "",
			},
			"info": map[string]any{"runtimeSpec": map[string]any{"ociVersion": "1.0.2-dev"}, "runtime": s.Runtime},
		}
		data, _ := json.MarshalIndent(doc, "", "  ")
		p.printf("%s\n", data)
	}
	return 0
}

func (p *pctx) crictlInspect(ids []string) int {
	for _, id := range ids {
		var row *containerRow
		for _, s := range p.n.Sandboxes {
			for _, c := range s.Containers {
				if id != "" && strings.HasPrefix(c.ID, id) {
					row = &containerRow{s, c}
				}
			}
		}
		if row == nil {
			p.eprintf("time=%q level=fatal msg=\"getting the status of the container %q: rpc error: code = NotFound desc = could not find container %q: container with ID starting with %s not found: ID does not exist\"\n",
				p.tx.now.UTC().Format(time.RFC3339), id, id, id)
			return 1
		}
		finished := "0001-01-01T00:00:00Z"
		if !row.c.Finished.IsZero() {
			finished = row.c.Finished.UTC().Format(time.RFC3339Nano)
		}
		doc := map[string]any{
			"status": map[string]any{
				"id": row.c.ID, "metadata": map[string]any{"attempt": row.c.Attempt, "name": row.c.Name},
				"state": row.c.State, "createdAt": row.c.Created.UTC().Format(time.RFC3339Nano),
				"startedAt": row.c.Created.UTC().Format(time.RFC3339Nano), "finishedAt": finished,
				"exitCode": row.c.ExitCode, "image": map[string]any{"image": row.c.Image}, "imageRef": row.c.Image,
				"reason": row.c.Reason, "message": row.c.Message,
				"labels": containerLabels(row.s, row.c), "annotations": containerAnnotations(row.c),
				"mounts":  []any{},
				"logPath": fmt.Sprintf("/var/log/pods/%s_%s_%s/%s/%d.log", row.s.Namespace, row.s.PodName, row.s.PodUID, row.c.Name, row.c.Attempt),
			},
			"info": map[string]any{"sandboxID": row.s.ID, "runtime": row.c.Runtime},
		}
		data, _ := json.MarshalIndent(doc, "", "  ")
		p.printf("%s\n", data)
	}
	return 0
}

// crictlRemove stops (stopp) or removes (rmp) sandboxes. kubelet, when it
// runs, notices at once and starts new sandboxes for pods still bound here.
func (p *pctx) crictlRemove(verb string, ids []string, cl *cmdline) int {
	if cl.has("a", "all") {
		ids = nil
		for _, s := range p.n.Sandboxes {
			ids = append(ids, s.ID)
		}
	}
	if len(ids) == 0 && !cl.has("a", "all") {
		p.eprintf("time=%q level=fatal msg=\"ID cannot be empty\"\n", p.tx.now.UTC().Format(time.RFC3339))
		return 1
	}
	code := 0
	for _, id := range ids {
		s, msg := p.findSandbox(id)
		if s == nil {
			p.eprintf("time=%q level=fatal msg=%q\n", p.tx.now.UTC().Format(time.RFC3339), msg)
			return 1
		}
		if verb == "rmp" && s.State == sandboxReady && !cl.has("f", "force") {
			p.eprintf("pod sandbox %q is running, please stop it first\n", s.ID)
			code = 1
			continue
		}
		s.State = sandboxNotReady
		for _, c := range s.Containers {
			if c.State != containerExited {
				c.State, c.Finished, c.ExitCode, c.Reason = containerExited, p.tx.now, 137, "Error"
			}
		}
		p.tx.crioLog(p.n, "info", "Stopped pod sandbox: "+s.ID)
		if verb == "stopp" {
			p.printf("Stopped sandbox %s\n", s.ID)
			continue
		}
		for i, x := range p.n.Sandboxes {
			if x == s {
				p.n.Sandboxes = append(p.n.Sandboxes[:i:i], p.n.Sandboxes[i+1:]...)
				break
			}
		}
		p.tx.crioLog(p.n, "info", "Removed pod sandbox: "+s.ID)
		p.printf("Removed sandbox %s\n", s.ID)
	}
	p.tx.kubeletSync(p.n)
	return code
}
